namespace TransferHub.Web.Features.Datasets.Viewer;

/// <summary>An image the viewer can step to. <see cref="ImageId"/>: a dataset image, loaded fresh when shown (its label
/// and split as they are now; it can be relabelled and deleted). Without one, or once it is gone from the dataset, the
/// picture is shown by <see cref="Sha256"/> alone (a run's image deleted since). <see cref="Note"/> is a line of context
/// under the picture, e.g. what a run predicted.</summary>
public sealed record ViewerItem(long? ImageId, string? Sha256 = null, string? OriginalName = null, string? Note = null);

/// <summary>A class the viewer offers for relabelling; the n-th (from 1) is also digit key n.</summary>
public sealed record ViewerClass(int Id, string Name);

/// <summary>What the viewer needs to know about the dataset (<see cref="DatasetService.ViewerContextAsync"/>).</summary>
public sealed record ViewerContext(bool CanEdit, bool TestSplitFrozen, IReadOnlyList<ViewerClass> Classes);
