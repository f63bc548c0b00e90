using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace TransferHub.Web.Data.Migrations
{
    /// <inheritdoc />
    public partial class ClassSplitIndex : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_DatasetImages_DatasetId_ClassId",
                table: "DatasetImages");

            migrationBuilder.CreateIndex(
                name: "IX_DatasetImages_DatasetId_ClassId_Split",
                table: "DatasetImages",
                columns: new[] { "DatasetId", "ClassId", "Split" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_DatasetImages_DatasetId_ClassId_Split",
                table: "DatasetImages");

            migrationBuilder.CreateIndex(
                name: "IX_DatasetImages_DatasetId_ClassId",
                table: "DatasetImages",
                columns: new[] { "DatasetId", "ClassId" });
        }
    }
}
