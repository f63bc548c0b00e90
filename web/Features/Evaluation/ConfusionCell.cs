namespace TransferHub.Web.Features.Evaluation;

/// <summary>A cell of a confusion matrix: images of class <see cref="TrueClass"/> predicted as <see cref="PredictedClass"/>.</summary>
public sealed record ConfusionCell(int TrueClass, int PredictedClass);
