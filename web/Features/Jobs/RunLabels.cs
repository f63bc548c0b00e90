using System.Text.Json;
using System.Text.RegularExpressions;
using TransferHub.Web.Data;

namespace TransferHub.Web.Features.Jobs;

/// <summary>A change to what a team says about a run. A null property stays as it is; an empty name or notes clears
/// them, an empty tag list removes every tag.</summary>
public sealed record RunLabelsChange
{
    public string? Name { get; init; }
    public string? Notes { get; init; }
    public IReadOnlyList<string>? Tags { get; init; }
    public bool? Pinned { get; init; }
}

/// <summary>The rules for a run's name, notes and tags, in one place for the pages and the API.
/// <list type="bullet">
/// <item>Name: trimmed; at most <see cref="TrainingJob.NameMaxLength"/> characters; no control characters; unique in
/// its project ignoring case (checked by <see cref="JobService.UpdateLabelsAsync"/>); empty = no name.</item>
/// <item>Notes: trimmed; at most <see cref="TrainingJob.NotesMaxLength"/> characters; empty = none.</item>
/// <item>Tags: each trimmed with inner runs of whitespace made one space, 1–<see cref="TagMaxLength"/> characters,
/// no comma (the separator when typed as a list) and no control characters; at most <see cref="MaxTags"/>; the same tag
/// twice (ignoring case) is refused rather than silently merged.</item>
/// </list></summary>
public static partial class RunLabels
{
    public const int TagMaxLength = 32;
    public const int MaxTags = 10;

    /// <summary>The change with every value normalised, or every problem with the field it concerns.</summary>
    /// <exception cref="InvalidInputException">One or more values break the rules above.</exception>
    public static RunLabelsChange Normalize(RunLabelsChange change)
    {
        var problems = new List<(string Field, string Message)>();
        string? name = null, notes = null;
        List<string>? tags = null;
        if (change.Name is not null)
        {
            name = change.Name.Trim();
            if (name.Length > TrainingJob.NameMaxLength)
                problems.Add(("name", $"A run's name can have at most {TrainingJob.NameMaxLength} characters (this one has {name.Length})."));
            else if (name.Any(char.IsControl))
                problems.Add(("name", "A run's name cannot contain line breaks or other control characters."));
        }
        if (change.Notes is not null)
        {
            notes = change.Notes.Trim();
            if (notes.Length > TrainingJob.NotesMaxLength)
                problems.Add(("notes", $"Notes can have at most {TrainingJob.NotesMaxLength} characters (these have {notes.Length})."));
        }
        if (change.Tags is not null)
        {
            tags = [];
            foreach (var raw in change.Tags)
            {
                var tag = Whitespace().Replace(raw ?? "", " ").Trim();
                if (tag.Length == 0) problems.Add(("tags", "A tag cannot be empty."));
                else if (tag.Length > TagMaxLength) problems.Add(("tags", $"The tag \"{tag[..TagMaxLength]}…\" is longer than {TagMaxLength} characters."));
                else if (tag.Contains(',')) problems.Add(("tags", $"The tag \"{tag}\" contains a comma; commas separate tags."));
                else if (tag.Any(char.IsControl)) problems.Add(("tags", $"The tag \"{tag}\" contains a control character."));
                else if (tags.Any(t => string.Equals(t, tag, StringComparison.OrdinalIgnoreCase)))
                    problems.Add(("tags", $"The tag \"{tag}\" is given twice."));
                else tags.Add(tag);
            }
            if (change.Tags.Count > MaxTags) problems.Add(("tags", $"A run can have at most {MaxTags} tags ({change.Tags.Count} given)."));
        }
        if (problems.Count > 0) throw new InvalidInputException(problems);
        return new RunLabelsChange { Name = name, Notes = notes, Tags = tags, Pinned = change.Pinned };
    }

    /// <summary>Stored tags (<see cref="TrainingJob.TagsJson"/>) as a list; empty when none.</summary>
    public static IReadOnlyList<string> Tags(string? json) =>
        string.IsNullOrEmpty(json) ? [] : JsonSerializer.Deserialize<string[]>(json) ?? [];

    /// <summary>Tags as stored: null when there are none.</summary>
    public static string? TagsJson(IReadOnlyList<string> tags) => tags.Count == 0 ? null : JsonSerializer.Serialize(tags);

    /// <summary>Splits what a person typed ("baseline, 224 px") into tags; the rules apply afterwards.</summary>
    public static IReadOnlyList<string> Split(string? typed) =>
        [.. (typed ?? "").Split(',').Select(t => t.Trim()).Where(t => t.Length > 0)];

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();
}
