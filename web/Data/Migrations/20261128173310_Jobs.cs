using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace TransferHub.Web.Data.Migrations
{
    /// <inheritdoc />
    public partial class Jobs : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "Jobs",
                columns: table => new
                {
                    Id = table.Column<int>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    DatasetId = table.Column<int>(type: "INTEGER", nullable: false),
                    Kind = table.Column<string>(type: "TEXT", maxLength: 20, nullable: false),
                    Status = table.Column<string>(type: "TEXT", maxLength: 20, nullable: false),
                    SettingsJson = table.Column<string>(type: "TEXT", nullable: false),
                    Backbone = table.Column<string>(type: "TEXT", maxLength: 100, nullable: false),
                    Mode = table.Column<string>(type: "TEXT", maxLength: 30, nullable: false),
                    Seed = table.Column<long>(type: "INTEGER", nullable: false),
                    SeedGroup = table.Column<string>(type: "TEXT", maxLength: 40, nullable: true),
                    Spec = table.Column<byte[]>(type: "BLOB", nullable: true),
                    ClassNamesJson = table.Column<string>(type: "TEXT", nullable: false),
                    DatasetVersion = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    ImageCount = table.Column<int>(type: "INTEGER", nullable: false),
                    CreatedByUserId = table.Column<string>(type: "TEXT", nullable: true),
                    CreatedAt = table.Column<DateTime>(type: "TEXT", nullable: false),
                    StartedAt = table.Column<DateTime>(type: "TEXT", nullable: true),
                    FinishedAt = table.Column<DateTime>(type: "TEXT", nullable: true),
                    Attempt = table.Column<int>(type: "INTEGER", nullable: false),
                    WorkerJobId = table.Column<string>(type: "TEXT", maxLength: 64, nullable: true),
                    WorkerId = table.Column<int>(type: "INTEGER", nullable: true),
                    WorkerName = table.Column<string>(type: "TEXT", maxLength: 100, nullable: true),
                    CancelRequested = table.Column<bool>(type: "INTEGER", nullable: false),
                    AutoRetriesLeft = table.Column<int>(type: "INTEGER", nullable: false),
                    LastEventSequence = table.Column<long>(type: "INTEGER", nullable: false),
                    Message = table.Column<string>(type: "TEXT", maxLength: 2000, nullable: true),
                    Device = table.Column<string>(type: "TEXT", maxLength: 200, nullable: true),
                    EpochsTotal = table.Column<int>(type: "INTEGER", nullable: false),
                    EpochsDone = table.Column<int>(type: "INTEGER", nullable: false),
                    TrainImages = table.Column<int>(type: "INTEGER", nullable: false),
                    ValImages = table.Column<int>(type: "INTEGER", nullable: false),
                    TestImages = table.Column<int>(type: "INTEGER", nullable: false),
                    TrainableParameters = table.Column<long>(type: "INTEGER", nullable: false),
                    TotalParameters = table.Column<long>(type: "INTEGER", nullable: false),
                    EvaluatedSplit = table.Column<string>(type: "TEXT", maxLength: 10, nullable: true),
                    Accuracy = table.Column<double>(type: "REAL", nullable: true),
                    MacroF1 = table.Column<double>(type: "REAL", nullable: true),
                    Loss = table.Column<double>(type: "REAL", nullable: true),
                    BestEpoch = table.Column<int>(type: "INTEGER", nullable: true),
                    StoppedEarly = table.Column<bool>(type: "INTEGER", nullable: false),
                    TrainingSeconds = table.Column<double>(type: "REAL", nullable: true),
                    EvaluationJson = table.Column<string>(type: "TEXT", nullable: true),
                    ModelId = table.Column<string>(type: "TEXT", maxLength: 64, nullable: true),
                    ModelBytes = table.Column<long>(type: "INTEGER", nullable: true),
                    EnsembleOf = table.Column<string>(type: "TEXT", maxLength: 1000, nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_Jobs", x => x.Id);
                    table.ForeignKey(
                        name: "FK_Jobs_AspNetUsers_CreatedByUserId",
                        column: x => x.CreatedByUserId,
                        principalTable: "AspNetUsers",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.SetNull);
                    table.ForeignKey(
                        name: "FK_Jobs_Datasets_DatasetId",
                        column: x => x.DatasetId,
                        principalTable: "Datasets",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                    table.ForeignKey(
                        name: "FK_Jobs_Workers_WorkerId",
                        column: x => x.WorkerId,
                        principalTable: "Workers",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.SetNull);
                });

            migrationBuilder.CreateTable(
                name: "JobEpochs",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    JobId = table.Column<int>(type: "INTEGER", nullable: false),
                    Attempt = table.Column<int>(type: "INTEGER", nullable: false),
                    Epoch = table.Column<int>(type: "INTEGER", nullable: false),
                    TrainLoss = table.Column<double>(type: "REAL", nullable: false),
                    TrainAccuracy = table.Column<double>(type: "REAL", nullable: false),
                    ValLoss = table.Column<double>(type: "REAL", nullable: true),
                    ValAccuracy = table.Column<double>(type: "REAL", nullable: true),
                    LearningRate = table.Column<double>(type: "REAL", nullable: false),
                    Seconds = table.Column<double>(type: "REAL", nullable: false),
                    ImagesPerSecond = table.Column<double>(type: "REAL", nullable: false),
                    IsBest = table.Column<bool>(type: "INTEGER", nullable: false),
                    At = table.Column<DateTime>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_JobEpochs", x => x.Id);
                    table.ForeignKey(
                        name: "FK_JobEpochs_Jobs_JobId",
                        column: x => x.JobId,
                        principalTable: "Jobs",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "JobLogLines",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    JobId = table.Column<int>(type: "INTEGER", nullable: false),
                    Attempt = table.Column<int>(type: "INTEGER", nullable: false),
                    At = table.Column<DateTime>(type: "TEXT", nullable: false),
                    Level = table.Column<string>(type: "TEXT", maxLength: 20, nullable: false),
                    Message = table.Column<string>(type: "TEXT", maxLength: 2000, nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_JobLogLines", x => x.Id);
                    table.ForeignKey(
                        name: "FK_JobLogLines_Jobs_JobId",
                        column: x => x.JobId,
                        principalTable: "Jobs",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateIndex(
                name: "IX_JobEpochs_JobId_Attempt_Epoch",
                table: "JobEpochs",
                columns: new[] { "JobId", "Attempt", "Epoch" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_JobLogLines_JobId_Id",
                table: "JobLogLines",
                columns: new[] { "JobId", "Id" });

            migrationBuilder.CreateIndex(
                name: "IX_Jobs_CreatedByUserId",
                table: "Jobs",
                column: "CreatedByUserId");

            migrationBuilder.CreateIndex(
                name: "IX_Jobs_DatasetId_CreatedAt",
                table: "Jobs",
                columns: new[] { "DatasetId", "CreatedAt" });

            migrationBuilder.CreateIndex(
                name: "IX_Jobs_Status",
                table: "Jobs",
                column: "Status");

            migrationBuilder.CreateIndex(
                name: "IX_Jobs_WorkerId",
                table: "Jobs",
                column: "WorkerId");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "JobEpochs");

            migrationBuilder.DropTable(
                name: "JobLogLines");

            migrationBuilder.DropTable(
                name: "Jobs");
        }
    }
}
