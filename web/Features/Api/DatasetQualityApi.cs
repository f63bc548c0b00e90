using System.Globalization;
using System.Security.Claims;
using Microsoft.Extensions.Options;
using TransferHub.Web.Features.Accounts;
using TransferHub.Web.Features.Datasets;
using TransferHub.Web.Features.Datasets.Duplicates;
using TransferHub.Web.Features.Datasets.LabelIssues;
using JsonOptions = Microsoft.AspNetCore.Http.Json.JsonOptions;

namespace TransferHub.Web.Features.Api;

/// <summary>The answer of <c>POST /api/v1/datasets/{datasetId}/label-issues</c>: what the search stored and the images it
/// flagged, as <c>GET</c> lists them.</summary>
public sealed record ApiLabelIssueSearch(LabelIssueSummary Summary, IReadOnlyList<SuspectedIssue> Issues);

/// <summary>The answer of accepting a suggested label: the image now carries <c>className</c>.</summary>
public sealed record ApiAcceptedLabel(long ImageId, string ClassName);

/// <summary>The body of <c>POST /api/v1/datasets/{datasetId}/near-duplicates/distinct</c>: images that show different
/// pictures (at least two different contents of the dataset).</summary>
public sealed record ApiDistinctImages
{
    public required IReadOnlyList<long> ImageIds { get; init; }
}

/// <summary>The answer of marking images "not duplicates": pairs newly remembered (0 when all were already).</summary>
public sealed record ApiDistinctMarked(int Remembered);

/// <summary>A dataset's quality checks over the API (issue 13): suspected label issues (confident learning on
/// cross-validated probabilities) and near-duplicates (backbone embeddings). Thin adapters over
/// <see cref="LabelIssueService"/> and <see cref="DuplicateService"/>, which authorize; the same searches as the dataset
/// page's panels, run within the request.</summary>
internal static class DatasetQualityApi
{
    public static void MapDatasetQualityApi(this RouteGroupBuilder api)
    {
        var dataset = api.MapGroup("/datasets/{datasetId:int}").WithTags("Dataset quality");

        dataset.MapGet("/label-issues", async (int datasetId, ClaimsPrincipal user, DatasetService datasets, LabelIssueService issues, CancellationToken ct) =>
            {
                var userId = user.GetUserId();
                _ = await datasets.GetAsync(userId, datasetId, ct) ?? throw new NotFoundException("Dataset");
                return TypedResults.Ok(await issues.ListAsync(userId, datasetId, ct));
            })
            .WithName("ListLabelIssues")
            .WithSummary("The images the latest label-issue search flagged that still carry the flagged label and whose label nobody kept.")
            .WithDescription("Likely mislabelled images first (lowest selfConfidence — the out-of-fold probability of the given class — first), " +
                "then outliers (far from every class). suggestedClassName is the class the cross-validated model prefers (null for an outlier " +
                "or when that class was deleted). Empty before the first search. Viewers may read it; an outsider is 404.")
            .ProducesProblem(StatusCodes.Status404NotFound);

        dataset.MapPost("/label-issues", async (int datasetId, ClaimsPrincipal user, LabelIssueService issues, CancellationToken ct) =>
            {
                var userId = user.GetUserId();
                var summary = await issues.FindAsync(userId, datasetId, cancellationToken: ct);
                return TypedResults.Ok(new ApiLabelIssueSearch(summary, await issues.ListAsync(userId, datasetId, ct)));
            })
            .WithName("FindLabelIssues")
            .WithSummary("Searches the dataset for label errors and outliers on a worker and stores what it finds (editors and owners).")
            .WithDescription("Confident learning (Northcutt, Jiang & Chuang 2021, prune by noise rate) on out-of-fold probabilities of a stratified " +
                "5-fold logistic regression over the pretrained backbone's features; the findings replace the previous search's. The request " +
                "waits for the search (seconds for a few hundred images whose features are cached, longer on first use). A dataset that " +
                "cannot train (too few classes or images, images in no split) or no worker answers is 409 with the reason; a viewer is 403, an outsider 404.")
            .ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);

        dataset.MapPost("/label-issues/{imageId:long}/accept", async (int datasetId, long imageId, ClaimsPrincipal user, LabelIssueService issues,
                CancellationToken ct) =>
                TypedResults.Ok(new ApiAcceptedLabel(imageId, await issues.AcceptAsync(user.GetUserId(), datasetId, imageId, ct))))
            .WithName("AcceptSuggestedLabel")
            .WithSummary("Relabels a flagged image as suggested (editors and owners): an ordinary relabel, with the test split's rules.")
            .WithDescription("404 when the image is not (or no longer) among the listed label issues; one with no suggested class " +
                "(an outlier, or the class was deleted) is 409, as is a relabel the test split's rules refuse; a viewer is 403.")
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);

        dataset.MapPost("/label-issues/{imageId:long}/keep", async (int datasetId, long imageId, ClaimsPrincipal user, LabelIssueService issues,
                CancellationToken ct) =>
            {
                await issues.KeepAsync(user.GetUserId(), datasetId, imageId, ct);
                return TypedResults.NoContent();
            })
            .WithName("KeepLabel")
            .WithSummary("Keeps a flagged image's label: later searches do not list this picture with this class again (editors and owners).")
            .ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status404NotFound);

        dataset.MapPost("/near-duplicates", async (int datasetId, string? threshold, ClaimsPrincipal user, DuplicateService duplicates,
                CancellationToken ct) =>
                TypedResults.Ok(await duplicates.FindAsync(user.GetUserId(), datasetId, Threshold(threshold), cancellationToken: ct)))
            .WithName("FindNearDuplicates")
            .WithSummary("Groups of images that show nearly the same picture, those that cross splits (leaks) first.")
            .WithDescription(FormattableString.Invariant($"threshold: the cosine similarity of the backbone's embeddings a pair needs, ") +
                FormattableString.Invariant($"{DuplicateService.MinThreshold:0.00}–{DuplicateService.MaxThreshold:0.00}, default {DuplicateService.DefaultThreshold:0.00} ") +
                "(chosen on Tux Paint and altered copies: docs/benchmarks.md), anything else 400. A worker embeds images not embedded before; with no worker the " +
                FormattableString.Invariant($"pictures' difference hashes are compared within {DuplicateService.FallbackBits} bits instead, and method and explanation say so ") +
                "(the answer's threshold is then that number of bits). " +
                "Pairs marked not duplicates are never joined (hidden counts them). Anyone who can see the dataset may search; an outsider is 404.")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound);

        dataset.MapPost("/near-duplicates/distinct", async (int datasetId, HttpRequest request, ClaimsPrincipal user, DuplicateService duplicates,
                IOptions<JsonOptions> json, CancellationToken ct) =>
            {
                var body = await ApiBody.ReadJsonAsync<ApiDistinctImages>(request, json.Value.SerializerOptions, ct);
                return TypedResults.Ok(new ApiDistinctMarked(await duplicates.MarkDistinctAsync(user.GetUserId(), datasetId, body.ImageIds, cancellationToken: ct)));
            })
            .RequestBody<ApiDistinctImages>("application/json")
            .WithName("MarkNotDuplicates")
            .WithSummary("Remembers that images show different pictures: no later search joins any two of them (editors and owners).")
            .WithDescription("Fewer than two different images is 409; an image not in the dataset 404; a viewer 403; a body that is not { imageIds: [...] } 400.")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
    }

    /// <summary>The query's threshold, parsed invariantly (a comma decimal is an error, not 92) and range-checked here, so a
    /// bad value is 400 like any other malformed query.</summary>
    private static double Threshold(string? value)
    {
        if (string.IsNullOrWhiteSpace(value)) return DuplicateService.DefaultThreshold;
        return double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed)
            && parsed is >= DuplicateService.MinThreshold and <= DuplicateService.MaxThreshold
            ? parsed
            : throw new ApiRequestException(StatusCodes.Status400BadRequest, FormattableString.Invariant(
                $"threshold must be a cosine similarity from {DuplicateService.MinThreshold:0.00} to {DuplicateService.MaxThreshold:0.00}, such as {DuplicateService.DefaultThreshold}; \"{value}\" is not."));
    }
}
