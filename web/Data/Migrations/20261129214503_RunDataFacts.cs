using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace TransferHub.Web.Data.Migrations
{
    /// <inheritdoc />
    public partial class RunDataFacts : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "DataFactsJson",
                table: "Jobs",
                type: "TEXT",
                nullable: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "DataFactsJson",
                table: "Jobs");
        }
    }
}
