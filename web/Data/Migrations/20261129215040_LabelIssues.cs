using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace TransferHub.Web.Data.Migrations
{
    /// <inheritdoc />
    public partial class LabelIssues : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "KeptLabels",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    DatasetId = table.Column<int>(type: "INTEGER", nullable: false),
                    Sha256 = table.Column<string>(type: "TEXT", fixedLength: true, maxLength: 64, nullable: false),
                    ClassId = table.Column<int>(type: "INTEGER", nullable: false),
                    KeptByUserId = table.Column<string>(type: "TEXT", nullable: true),
                    KeptAt = table.Column<DateTime>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_KeptLabels", x => x.Id);
                    table.ForeignKey(
                        name: "FK_KeptLabels_AspNetUsers_KeptByUserId",
                        column: x => x.KeptByUserId,
                        principalTable: "AspNetUsers",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.SetNull);
                    table.ForeignKey(
                        name: "FK_KeptLabels_Datasets_DatasetId",
                        column: x => x.DatasetId,
                        principalTable: "Datasets",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "LabelIssueFindings",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    DatasetId = table.Column<int>(type: "INTEGER", nullable: false),
                    Sha256 = table.Column<string>(type: "TEXT", fixedLength: true, maxLength: 64, nullable: false),
                    GivenClassId = table.Column<int>(type: "INTEGER", nullable: false),
                    SuggestedClassId = table.Column<int>(type: "INTEGER", nullable: true),
                    SelfConfidence = table.Column<double>(type: "REAL", nullable: false),
                    SuggestedProbability = table.Column<double>(type: "REAL", nullable: false),
                    LikelyMislabelled = table.Column<bool>(type: "INTEGER", nullable: false),
                    Outlier = table.Column<bool>(type: "INTEGER", nullable: false),
                    FoundAt = table.Column<DateTime>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_LabelIssueFindings", x => x.Id);
                    table.ForeignKey(
                        name: "FK_LabelIssueFindings_Datasets_DatasetId",
                        column: x => x.DatasetId,
                        principalTable: "Datasets",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateIndex(
                name: "IX_KeptLabels_DatasetId_Sha256_ClassId",
                table: "KeptLabels",
                columns: new[] { "DatasetId", "Sha256", "ClassId" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_KeptLabels_KeptByUserId",
                table: "KeptLabels",
                column: "KeptByUserId");

            migrationBuilder.CreateIndex(
                name: "IX_LabelIssueFindings_DatasetId_Sha256",
                table: "LabelIssueFindings",
                columns: new[] { "DatasetId", "Sha256" },
                unique: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "KeptLabels");

            migrationBuilder.DropTable(
                name: "LabelIssueFindings");
        }
    }
}
