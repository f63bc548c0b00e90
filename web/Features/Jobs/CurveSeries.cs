namespace TransferHub.Web.Features.Jobs;

/// <summary>A point of a curve; <see cref="Y"/> null = no value that epoch (e.g. no validation split).</summary>
public sealed record CurvePoint(double X, double? Y, bool Highlight = false);

/// <summary>One line of a <see cref="CurveChart"/>.</summary>
public sealed record CurveSeries(string Name, string Colour, IReadOnlyList<CurvePoint> Points, bool Dashed = false)
{
    public const string Train = "#3949ab", Val = "#f4511e";

    /// <summary>Loss (train solid, validation dashed) of one run's epochs.</summary>
    public static IReadOnlyList<CurveSeries> Loss(IReadOnlyList<EpochPoint> epochs) =>
    [
        new("train loss", Train, [.. epochs.Select(e => new CurvePoint(e.Epoch, e.TrainLoss))]),
        new("val loss", Val, [.. epochs.Select(e => new CurvePoint(e.Epoch, e.ValLoss, e.IsBest))], Dashed: true),
    ];

    public static IReadOnlyList<CurveSeries> Accuracy(IReadOnlyList<EpochPoint> epochs) =>
    [
        new("train accuracy", Train, [.. epochs.Select(e => new CurvePoint(e.Epoch, e.TrainAccuracy))]),
        new("val accuracy", Val, [.. epochs.Select(e => new CurvePoint(e.Epoch, e.ValAccuracy, e.IsBest))], Dashed: true),
    ];

    /// <summary>The head's learning rate per epoch, as the schedule set it (constant, cosine or step).</summary>
    public static IReadOnlyList<CurveSeries> LearningRate(IReadOnlyList<EpochPoint> epochs) =>
    [
        new("learning rate", Train, [.. epochs.Select(e => new CurvePoint(e.Epoch, e.LearningRate))]),
    ];
}
