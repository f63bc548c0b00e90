using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace TransferHub.Web.Data.Migrations
{
    /// <inheritdoc />
    public partial class RunNamesAndNumbers : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<double>(
                name: "FeatureExtractionSeconds",
                table: "Jobs",
                type: "REAL",
                nullable: true);

            migrationBuilder.AddColumn<int>(
                name: "FeatureImagesCached",
                table: "Jobs",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.AddColumn<int>(
                name: "FeatureImagesComputed",
                table: "Jobs",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "Name",
                table: "Jobs",
                type: "TEXT",
                maxLength: 100,
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "Notes",
                table: "Jobs",
                type: "TEXT",
                maxLength: 2000,
                nullable: true);

            migrationBuilder.AddColumn<int>(
                name: "Number",
                table: "Jobs",
                type: "INTEGER",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.AddColumn<bool>(
                name: "Pinned",
                table: "Jobs",
                type: "INTEGER",
                nullable: false,
                defaultValue: false);

            migrationBuilder.AddColumn<int>(
                name: "ProjectId",
                table: "Jobs",
                type: "INTEGER",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.AddColumn<string>(
                name: "TagsJson",
                table: "Jobs",
                type: "TEXT",
                maxLength: 1000,
                nullable: true);

            // Existing runs: their dataset's project, and numbers 1, 2, 3… per project in id (launch) order.
            migrationBuilder.Sql("UPDATE \"Jobs\" SET \"ProjectId\" = COALESCE((SELECT \"d\".\"ProjectId\" FROM \"Datasets\" AS \"d\" WHERE \"d\".\"Id\" = \"Jobs\".\"DatasetId\"), 0);");
            migrationBuilder.Sql("UPDATE \"Jobs\" SET \"Number\" = (SELECT COUNT(*) FROM \"Jobs\" AS \"o\" WHERE \"o\".\"ProjectId\" = \"Jobs\".\"ProjectId\" AND \"o\".\"Id\" <= \"Jobs\".\"Id\");");

            migrationBuilder.CreateIndex(
                name: "IX_Jobs_ProjectId_Number",
                table: "Jobs",
                columns: new[] { "ProjectId", "Number" },
                unique: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_Jobs_ProjectId_Number",
                table: "Jobs");

            migrationBuilder.DropColumn(
                name: "FeatureExtractionSeconds",
                table: "Jobs");

            migrationBuilder.DropColumn(
                name: "FeatureImagesCached",
                table: "Jobs");

            migrationBuilder.DropColumn(
                name: "FeatureImagesComputed",
                table: "Jobs");

            migrationBuilder.DropColumn(
                name: "Name",
                table: "Jobs");

            migrationBuilder.DropColumn(
                name: "Notes",
                table: "Jobs");

            migrationBuilder.DropColumn(
                name: "Number",
                table: "Jobs");

            migrationBuilder.DropColumn(
                name: "Pinned",
                table: "Jobs");

            migrationBuilder.DropColumn(
                name: "ProjectId",
                table: "Jobs");

            migrationBuilder.DropColumn(
                name: "TagsJson",
                table: "Jobs");
        }
    }
}
