using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace TransferHub.Web.Data.Migrations
{
    /// <inheritdoc />
    public partial class ModelCopyAndDivergence : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AlterColumn<double>(
                name: "TrainLoss",
                table: "JobEpochs",
                type: "REAL",
                nullable: true,
                oldClrType: typeof(double),
                oldType: "REAL");

            migrationBuilder.AlterColumn<double>(
                name: "TrainAccuracy",
                table: "JobEpochs",
                type: "REAL",
                nullable: true,
                oldClrType: typeof(double),
                oldType: "REAL");

            // A run is "completed" only once its model is stored. Runs left completed without one (the copy was cut
            // short before this rule) become "finishing": the scheduler copies the model again, or — when the worker
            // no longer has it — marks the run failed with a message to re-queue it.
            migrationBuilder.Sql(
                "UPDATE Jobs SET Status = 'Finishing', FinishedAt = NULL " +
                "WHERE Status = 'Completed' AND Kind = 'Training' AND (ModelBytes IS NULL OR ModelBytes = 0);");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AlterColumn<double>(
                name: "TrainLoss",
                table: "JobEpochs",
                type: "REAL",
                nullable: false,
                defaultValue: 0.0,
                oldClrType: typeof(double),
                oldType: "REAL",
                oldNullable: true);

            migrationBuilder.AlterColumn<double>(
                name: "TrainAccuracy",
                table: "JobEpochs",
                type: "REAL",
                nullable: false,
                defaultValue: 0.0,
                oldClrType: typeof(double),
                oldType: "REAL",
                oldNullable: true);
        }
    }
}
