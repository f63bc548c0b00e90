using System.Globalization;
using TransferHub.Web.Data;

namespace TransferHub.Web.Features.Jobs;

/// <summary>How the Runs table is filtered and sorted, kept in the page's query string so a link reproduces the view
/// (<c>?status=completed&amp;mode=fine-tune&amp;minacc=90&amp;sort=accuracy</c>). Every value is optional; one that is
/// not understood is ignored rather than refused (a link from an older version still opens).
/// <list type="bullet">
/// <item><c>status</c>: <c>active</c> (queued … saving), <c>completed</c>, <c>failed</c> (failed, diverged, worker lost)
/// or <c>cancelled</c>.</item>
/// <item><c>mode</c>: <c>feature-extraction</c>, <c>fine-tune</c>, <c>auto</c> or <c>ensemble</c>.</item>
/// <item><c>backbone</c>: a backbone name exactly; <c>tag</c>: a tag, ignoring case.</item>
/// <item><c>minacc</c>: the lowest accuracy shown, in percent (0–100); runs without an accuracy are left out.</item>
/// <item><c>q</c>: text in the name, notes or tags, or a number (<c>3</c> or <c>#3</c>).</item>
/// <item><c>starred</c>: <c>1</c> shows only starred runs.</item>
/// <item><c>sort</c>: <c>number</c> (default), <c>accuracy</c>, <c>f1</c>, <c>bestval</c>, <c>name</c>, <c>backbone</c>,
/// <c>status</c>; <c>dir</c>: <c>asc</c> or <c>desc</c> (default desc). Runs without the sorted value come last either way.
/// The default order (number, descending) lists starred runs first.</item>
/// </list></summary>
public sealed record RunQuery
{
    public static readonly IReadOnlyList<string> Statuses = ["active", "completed", "failed", "cancelled"];
    public static readonly IReadOnlyList<string> Modes = ["feature-extraction", "fine-tune", "auto", "ensemble"];
    public static readonly IReadOnlyList<string> Sorts = ["number", "accuracy", "f1", "bestval", "name", "backbone", "status"];

    public string? Status { get; init; }
    public string? Mode { get; init; }
    public string? Backbone { get; init; }
    public string? Tag { get; init; }
    /// <summary>Percent, 0–100.</summary>
    public double? MinAccuracy { get; init; }
    public string? Text { get; init; }
    public bool StarredOnly { get; init; }
    public string Sort { get; init; } = "number";
    public bool Descending { get; init; } = true;

    public bool IsDefaultOrder => Sort == "number" && Descending;
    public bool Filters => Status is not null || Mode is not null || Backbone is not null || Tag is not null || MinAccuracy is not null
        || Text is not null || StarredOnly;

    /// <summary>Reads the query-string values (null or blank = not set); values it does not know are dropped.</summary>
    public static RunQuery From(string? status, string? mode, string? backbone, string? tag, string? minAccuracy, string? text, string? starred,
        string? sort, string? dir) => new()
    {
        Status = Statuses.FirstOrDefault(s => s == status?.Trim().ToLowerInvariant()),
        Mode = Modes.FirstOrDefault(m => m == mode?.Trim().ToLowerInvariant()),
        Backbone = Blank(backbone),
        Tag = Blank(tag),
        MinAccuracy = double.TryParse(minAccuracy, NumberStyles.Float, CultureInfo.InvariantCulture, out var p) && p is > 0 and <= 100 ? p : null,
        Text = Blank(text),
        StarredOnly = starred is "1" or "true",
        Sort = Sorts.FirstOrDefault(s => s == sort?.Trim().ToLowerInvariant()) ?? "number",
        Descending = dir?.Trim().ToLowerInvariant() != "asc",
    };

    /// <summary>The query-string values of this view (null = left out of the URL), keyed as <see cref="From"/> reads them.</summary>
    public IReadOnlyDictionary<string, object?> ToQuery() => new Dictionary<string, object?>
    {
        ["status"] = Status, ["mode"] = Mode, ["backbone"] = Backbone, ["tag"] = Tag,
        ["minacc"] = MinAccuracy?.ToString(CultureInfo.InvariantCulture), ["q"] = Text, ["starred"] = StarredOnly ? "1" : null,
        ["sort"] = Sort == "number" ? null : Sort, ["dir"] = Descending ? null : "asc",
    };

    /// <summary>The runs this view shows, in its order.</summary>
    public IReadOnlyList<RunSummary> Apply(IEnumerable<RunSummary> runs)
    {
        var shown = runs.Where(Matches).ToList();
        var ordered = Sort switch
        {
            "accuracy" => By(shown, r => r.Accuracy),
            "f1" => By(shown, r => r.MacroF1),
            "bestval" => ByBestValidation(shown),
            "name" => ByText(shown, r => r.Name),
            "backbone" => ByText(shown, r => r.Backbone),
            "status" => ByText(shown, r => r.Status.ToString()),
            _ => Descending
                ? shown.OrderByDescending(r => r.Pinned).ThenByDescending(r => r.Number)
                : shown.OrderBy(r => r.Number),
        };
        return [.. ordered];
    }

    private IOrderedEnumerable<RunSummary> By(List<RunSummary> runs, Func<RunSummary, double?> key)
    {
        var withValue = runs.OrderBy(r => key(r) is null);
        return Descending ? withValue.ThenByDescending(key).ThenByDescending(r => r.Number) : withValue.ThenBy(key).ThenBy(r => r.Number);
    }

    /// <summary>Runs that kept no model (<see cref="RunSummary.BestValNote"/>) last in either direction, whatever their
    /// early best; before them the runs with a value, then those without one (auto runs, ensembles, runs not started).</summary>
    private IOrderedEnumerable<RunSummary> ByBestValidation(List<RunSummary> runs)
    {
        var tiers = runs.OrderBy(r => r.BestValNote is not null).ThenBy(r => r.BestValAccuracy is null);
        return Descending
            ? tiers.ThenByDescending(r => r.BestValAccuracy).ThenByDescending(r => r.Number)
            : tiers.ThenBy(r => r.BestValAccuracy).ThenBy(r => r.Number);
    }

    private IOrderedEnumerable<RunSummary> ByText(List<RunSummary> runs, Func<RunSummary, string?> key)
    {
        var withValue = runs.OrderBy(r => key(r) is null);
        return Descending
            ? withValue.ThenByDescending(key, StringComparer.OrdinalIgnoreCase).ThenByDescending(r => r.Number)
            : withValue.ThenBy(key, StringComparer.OrdinalIgnoreCase).ThenBy(r => r.Number);
    }

    private bool Matches(RunSummary r)
    {
        if (Status is not null && StatusGroup(r.Status) != Status) return false;
        if (Mode is not null && ModeName(r) != Mode) return false;
        if (Backbone is not null && r.Backbone != Backbone) return false;
        if (Tag is not null && !r.Tags.Contains(Tag, StringComparer.OrdinalIgnoreCase)) return false;
        if (MinAccuracy is { } min && (r.Accuracy is not { } accuracy || accuracy * 100 < min - 1e-9)) return false;
        if (StarredOnly && !r.Pinned) return false;
        if (Text is { } text)
        {
            var number = text.TrimStart('#');
            if (int.TryParse(number, NumberStyles.None, CultureInfo.InvariantCulture, out var n)) return r.Number == n;
            return (r.Name?.Contains(text, StringComparison.OrdinalIgnoreCase) ?? false)
                || (r.Notes?.Contains(text, StringComparison.OrdinalIgnoreCase) ?? false)
                || r.Tags.Any(t => t.Contains(text, StringComparison.OrdinalIgnoreCase));
        }
        return true;
    }

    /// <summary>The <c>status</c> filter value a run falls under.</summary>
    public static string StatusGroup(JobStatus status) => status switch
    {
        _ when status.IsActive() => "active",
        JobStatus.Completed => "completed",
        JobStatus.Cancelled => "cancelled",
        _ => "failed",
    };

    /// <summary>The <c>mode</c> filter value of a run.</summary>
    public static string ModeName(RunSummary run) => run.Kind == JobKind.Ensemble ? "ensemble" : run.Mode switch
    {
        TrainingMode.FineTune => "fine-tune",
        TrainingMode.Auto => "auto",
        _ => "feature-extraction",
    };

    private static string? Blank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}
