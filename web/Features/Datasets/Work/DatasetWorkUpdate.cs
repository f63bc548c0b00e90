using TransferHub.Web.Features.Datasets.Duplicates;
using TransferHub.Web.Features.Datasets.Import;

namespace TransferHub.Web.Features.Datasets.Work;

/// <summary>One step of long dataset work: a phrase ("comparing"), and how far it is (<paramref name="Total"/> 0: not known).</summary>
public readonly record struct WorkStep(string Phrase, int Done, int Total);

public enum DatasetWorkKind { FindDuplicates, ImportZip, FindLabelIssues }

public enum DatasetWorkState { Queued, Running, Completed, Cancelled, Failed }

/// <summary>
/// Where one operation of <see cref="DatasetWork"/> stands: a snapshot, so a page can show the latest one it gets.
/// When finished: <see cref="Duplicates"/> (near-duplicates and how they were found), <see cref="LabelIssues"/> (a label-issue search), <see cref="Report"/> (an import; after a cancel, the files
/// imported before it, which are kept), or <see cref="Error"/> (in words for the user).
/// </summary>
public sealed record DatasetWorkUpdate(Guid OperationId, int DatasetId, DatasetWorkKind Kind, string Name, DatasetWorkState State, WorkStep Step)
{
    public DuplicateSearch? Duplicates { get; init; }

    public ImportReport? Report { get; init; }

    /// <summary>A finished label-issue search: what it stored.</summary>
    public LabelIssues.LabelIssueSummary? LabelIssues { get; init; }

    public string? Error { get; init; }

    public bool Finished => State is DatasetWorkState.Completed or DatasetWorkState.Cancelled or DatasetWorkState.Failed;

    /// <summary>0–1 of the current step.</summary>
    public double Fraction => State == DatasetWorkState.Completed ? 1 : Step.Total <= 0 ? 0 : Math.Clamp((double)Step.Done / Step.Total, 0, 1);
}
