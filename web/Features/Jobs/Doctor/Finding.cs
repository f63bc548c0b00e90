using TransferHub.Web.Data;

namespace TransferHub.Web.Features.Jobs.Doctor;

/// <summary>How much a finding matters: <see cref="Info"/> a better option exists, <see cref="Warning"/> the run's
/// numbers or model are probably worse than they could be, or less trustworthy than they look, <see cref="Error"/> the
/// run failed because of it.</summary>
public enum FindingSeverity { Info, Warning, Error }

/// <summary>One thing the <see cref="TrainingDoctor"/> found about a run.</summary>
/// <param name="Rule">Stable id of the rule (<see cref="TrainingDoctor.Rules"/>), e.g. "overfitting".</param>
/// <param name="Title">A few words, e.g. "Overfitting".</param>
/// <param name="Evidence">The numbers that triggered it, in a sentence.</param>
/// <param name="Numbers">The same numbers by name (camelCase; fractions in [0, 1], losses in nats, sizes in pixels).</param>
/// <param name="Advice">What to do about it, in plain words.</param>
public sealed record Finding(string Rule, FindingSeverity Severity, string Title, string Evidence, IReadOnlyDictionary<string, double> Numbers,
    string Advice);

/// <summary>A finished run on the same data (dataset and content version) as the diagnosed run, for comparing frozen and
/// fine-tuned backbones. <paramref name="BestValAccuracy"/>: its best epoch's validation accuracy.</summary>
public sealed record SiblingRun(int Id, TrainingMode Mode, double BestValAccuracy);

/// <summary>Everything the doctor looks at: the run's state and settings, its epochs so far, its data (null for runs
/// launched before data facts were kept, and for ensembles) and finished sibling runs on the same data.</summary>
/// <param name="Classes">The number of classes (model outputs): chance accuracy is 1 / Classes, chance loss ln(Classes).</param>
/// <param name="ValImages">Validation images (0: the run has no validation split, so no validation curves).</param>
/// <param name="Settings">Null for ensembles.</param>
public sealed record DoctorInput(JobStatus Status, JobKind Kind, TrainingMode Mode, string? Message, string? EvaluatedSplit, int Classes,
    int ValImages, JobSettings? Settings, IReadOnlyList<EpochPoint> Epochs, RunDataFacts? Data, IReadOnlyList<SiblingRun> Siblings);
