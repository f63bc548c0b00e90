using SkiaSharp;

namespace TransferHub.Web.Features.Reports.Pdf;

/// <summary>The training curves page: loss and accuracy per epoch, train and validation.</summary>
internal static class CurvesPage
{
    private const float ChartGap = 28;
    private const float MaxChartHeight = 300;

    public static PageContent Compose(RunReport report) => (canvas, area) =>
    {
        var top = ReportPdf.Heading(canvas, area, "Training curves",
            "Per epoch, on the training split (solid) and the validation split (dashed); " +
            "the grey line marks the best epoch, whose weights were kept.");
        var height = Math.Min(MaxChartHeight, (area.Bottom - top - ChartGap) / 2);
        var epochs = report.Epochs.OrderBy(e => e.Epoch).ToList();

        LineChart.Draw(canvas, new SKRect(area.Left, top, area.Right, top + height), "Loss", ChartQuantity.Loss,
            Curves(epochs, e => e.TrainLoss, e => e.ValLoss), report.BestEpoch);
        top += height + ChartGap;
        LineChart.Draw(canvas, new SKRect(area.Left, top, area.Right, top + height), "Accuracy", ChartQuantity.Accuracy,
            Curves(epochs, e => e.TrainAccuracy, e => e.ValAccuracy), report.BestEpoch);
    };

    private static List<ChartSeries> Curves(List<ReportEpoch> epochs, Func<ReportEpoch, double?> train,
        Func<ReportEpoch, double?> validation) =>
    [
        new("train", ReportColors.Train, Dashed: false, [.. epochs.Select(e => new ChartPoint(e.Epoch, train(e)))]),
        new("validation", ReportColors.Validation, Dashed: true, [.. epochs.Select(e => new ChartPoint(e.Epoch, validation(e)))]),
    ];
}
