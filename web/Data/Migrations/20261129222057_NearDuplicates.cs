using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace TransferHub.Web.Data.Migrations
{
    /// <inheritdoc />
    public partial class NearDuplicates : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "DistinctImagePairs",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    DatasetId = table.Column<int>(type: "INTEGER", nullable: false),
                    Sha256A = table.Column<string>(type: "TEXT", fixedLength: true, maxLength: 64, nullable: false),
                    Sha256B = table.Column<string>(type: "TEXT", fixedLength: true, maxLength: 64, nullable: false),
                    MarkedByUserId = table.Column<string>(type: "TEXT", nullable: true),
                    MarkedAt = table.Column<DateTime>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_DistinctImagePairs", x => x.Id);
                    table.ForeignKey(
                        name: "FK_DistinctImagePairs_AspNetUsers_MarkedByUserId",
                        column: x => x.MarkedByUserId,
                        principalTable: "AspNetUsers",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.SetNull);
                    table.ForeignKey(
                        name: "FK_DistinctImagePairs_Datasets_DatasetId",
                        column: x => x.DatasetId,
                        principalTable: "Datasets",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "ImageEmbeddings",
                columns: table => new
                {
                    Sha256 = table.Column<string>(type: "TEXT", fixedLength: true, maxLength: 64, nullable: false),
                    Method = table.Column<string>(type: "TEXT", maxLength: 300, nullable: false),
                    Dim = table.Column<int>(type: "INTEGER", nullable: false),
                    Vector = table.Column<byte[]>(type: "BLOB", nullable: false),
                    CreatedAt = table.Column<DateTime>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_ImageEmbeddings", x => new { x.Method, x.Sha256 });
                });

            migrationBuilder.CreateIndex(
                name: "IX_DistinctImagePairs_DatasetId_Sha256A_Sha256B",
                table: "DistinctImagePairs",
                columns: new[] { "DatasetId", "Sha256A", "Sha256B" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_DistinctImagePairs_MarkedByUserId",
                table: "DistinctImagePairs",
                column: "MarkedByUserId");

            migrationBuilder.CreateIndex(
                name: "IX_ImageEmbeddings_CreatedAt",
                table: "ImageEmbeddings",
                column: "CreatedAt");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "DistinctImagePairs");

            migrationBuilder.DropTable(
                name: "ImageEmbeddings");
        }
    }
}
