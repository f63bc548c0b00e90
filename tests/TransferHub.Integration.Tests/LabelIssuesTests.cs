using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using TransferHub.Web.Data;
using TransferHub.Web.Features;
using TransferHub.Web.Features.Api;
using TransferHub.Web.Features.Datasets.Curation;
using TransferHub.Web.Features.Datasets.LabelIssues;
using TransferHub.Web.Features.Teams;
using Xunit.Abstractions;
using static TransferHub.Integration.Tests.JobTestData;

namespace TransferHub.Integration.Tests;

/// <summary>"Find label issues" from the web to a real worker, and the gallery's actions on what it found.</summary>
public sealed class LabelIssuesTests(ITestOutputHelper output) : HostedTest(output)
{
    [Fact]
    public async Task MislabelledImagesAreFoundAcceptedOrKeptAndAKeptLabelIsNotFlaggedAgain()
    {
        var web = Keep(new WebHost(NewWorker()));
        var (user, _, dataset) = await TrainableDatasetAsync(web);
        var images = await web.InScopeAsync(async s =>
        {
            await using var db = await s.GetRequiredService<IDbContextFactory<TransferHubDbContext>>().CreateDbContextAsync();
            return await db.DatasetImages.Where(i => i.DatasetId == dataset).Include(i => i.Class).OrderBy(i => i.Id).ToListAsync();
        });
        var red = images.First(i => i.Class!.Name == "red").ClassId!.Value;
        var blue = images.First(i => i.Class!.Name == "blue").ClassId!.Value;
        // Two red pictures labelled blue by mistake.
        var wrong = images.Where(i => i.ClassId == red).Take(2).Select(i => i.Id).ToList();
        await web.InScopeAsync(s => s.GetRequiredService<CurationService>().RelabelAsync(user, dataset, wrong, blue));

        var summary = await web.InScopeAsync(s => s.GetRequiredService<LabelIssueService>().FindAsync(user, dataset));
        var found = await web.InScopeAsync(s => s.GetRequiredService<LabelIssueService>().ListAsync(user, dataset));

        Output.WriteLine($"{summary.Method}: {summary.LikelyMislabelled} flagged, OOF accuracy {summary.OutOfFoldAccuracy:P1}");
        foreach (var id in wrong)
        {
            var issue = Assert.Single(found, f => f.ImageId == id);
            Assert.True(issue.LikelyMislabelled);
            Assert.Equal(("blue", "red"), (issue.GivenClassName, issue.SuggestedClassName));
            Assert.InRange(issue.SelfConfidence, 0, 0.5);
        }
        Assert.True(found.Count(f => f.LikelyMislabelled) <= 3, $"{found.Count} flagged among 20 images with 2 wrong");

        // Accept: relabelled as suggested, and no longer listed.
        Assert.Equal("red", await web.InScopeAsync(s => s.GetRequiredService<LabelIssueService>().AcceptAsync(user, dataset, wrong[0])));
        // Keep: remembered, not listed, and a new search does not flag it again.
        await web.InScopeAsync(async s => { await s.GetRequiredService<LabelIssueService>().KeepAsync(user, dataset, wrong[1]); return 0; });
        var after = await web.InScopeAsync(s => s.GetRequiredService<LabelIssueService>().ListAsync(user, dataset));
        Assert.DoesNotContain(after, f => wrong.Contains(f.ImageId));
        await web.InScopeAsync(s => s.GetRequiredService<LabelIssueService>().FindAsync(user, dataset));
        var again = await web.InScopeAsync(s => s.GetRequiredService<LabelIssueService>().ListAsync(user, dataset));
        Assert.DoesNotContain(again, f => wrong.Contains(f.ImageId));
        var keptSha = images.First(i => i.Id == wrong[1]).Sha256;
        var labels = await web.InScopeAsync(async s =>
        {
            await using var db = await s.GetRequiredService<IDbContextFactory<TransferHubDbContext>>().CreateDbContextAsync();
            return (await db.DatasetImages.Where(i => wrong.Contains(i.Id)).OrderBy(i => i.Id).Select(i => i.ClassId).ToListAsync(),
                await db.LabelIssueFindings.CountAsync(f => f.DatasetId == dataset && f.Sha256 == keptSha));
        });
        Assert.Equal([red, blue], labels.Item1);
        Assert.Equal(1, labels.Item2); // the worker still flags it; the kept label hides it
    }

    [Fact]
    public async Task AScriptSearchesForLabelIssuesOverTheApiAcceptsOneSuggestionAndKeepsAnotherLabel()
    {
        var web = Keep(new WebHost(NewWorker()));
        var (user, _, dataset) = await TrainableDatasetAsync(web);
        var (wrong, blue, secret) = await web.InScopeAsync(async s =>
        {
            await using var db = await s.GetRequiredService<IDbContextFactory<TransferHubDbContext>>().CreateDbContextAsync();
            var images = await db.DatasetImages.Where(i => i.DatasetId == dataset && i.Class!.Name == "red").OrderBy(i => i.Id).Take(2).Select(i => i.Id).ToListAsync();
            var blueId = await db.DatasetClasses.Where(c => c.DatasetId == dataset && c.Name == "blue").Select(c => c.Id).FirstAsync();
            var token = await s.GetRequiredService<PersonalAccessTokenService>().CreateAsync(user, "script", null);
            return (images, blueId, token.Secret);
        });
        await web.InScopeAsync(s => s.GetRequiredService<CurationService>().RelabelAsync(user, dataset, wrong, blue));
        var api = web.CreateClient();
        api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", secret);

        var search = await JsonAsync(await api.PostAsync($"api/v1/datasets/{dataset}/label-issues", null));

        Output.WriteLine(search.GetProperty("summary").ToString());
        Assert.Equal(20, search.GetProperty("summary").GetProperty("examined").GetInt32());
        Assert.Equal(search.GetProperty("issues").GetArrayLength(), search.GetProperty("summary").GetProperty("flagged").GetInt32());
        var flagged = search.GetProperty("issues").EnumerateArray().Where(i => i.GetProperty("likelyMislabelled").GetBoolean()).ToList();
        foreach (var id in wrong)
        {
            var issue = Assert.Single(flagged, i => i.GetProperty("imageId").GetInt64() == id);
            Assert.Equal(("blue", "red"), (issue.GetProperty("givenClassName").GetString(), issue.GetProperty("suggestedClassName").GetString()));
        }
        var listed = await JsonAsync(await api.GetAsync($"api/v1/datasets/{dataset}/label-issues"));
        Assert.Equal(search.GetProperty("issues").GetArrayLength(), listed.GetArrayLength());

        var accepted = await JsonAsync(await api.PostAsync($"api/v1/datasets/{dataset}/label-issues/{wrong[0]}/accept", null));
        Assert.Equal("red", accepted.GetProperty("className").GetString());
        Assert.Equal(HttpStatusCode.NoContent, (await api.PostAsync($"api/v1/datasets/{dataset}/label-issues/{wrong[1]}/keep", null)).StatusCode);
        // Accepted once: it is no longer an issue.
        Assert.Equal(HttpStatusCode.NotFound, (await api.PostAsync($"api/v1/datasets/{dataset}/label-issues/{wrong[0]}/accept", null)).StatusCode);

        var after = await JsonAsync(await api.GetAsync($"api/v1/datasets/{dataset}/label-issues"));
        Assert.DoesNotContain(after.EnumerateArray(), i => wrong.Contains(i.GetProperty("imageId").GetInt64()));
        // A new search counts what it lists: the kept label is flagged by the worker again but neither listed nor counted.
        var again = await JsonAsync(await api.PostAsync($"api/v1/datasets/{dataset}/label-issues", null));
        Assert.Equal(again.GetProperty("issues").GetArrayLength(), again.GetProperty("summary").GetProperty("flagged").GetInt32());
        Assert.DoesNotContain(again.GetProperty("issues").EnumerateArray(), i => i.GetProperty("imageId").GetInt64() == wrong[1]);
        var labels = await web.InScopeAsync(async s =>
        {
            await using var db = await s.GetRequiredService<IDbContextFactory<TransferHubDbContext>>().CreateDbContextAsync();
            return await db.DatasetImages.Where(i => wrong.Contains(i.Id)).OrderBy(i => i.Id).Select(i => i.Class!.Name).ToListAsync();
        });
        Assert.Equal(["red", "blue"], labels);
    }

    private static async Task<JsonElement> JsonAsync(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"Expected 200, got {(int)response.StatusCode}: {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    [Fact]
    public async Task ViewersSeeTheSuspectedIssuesButCannotSearchAcceptOrKeep()
    {
        var web = Keep(new WebHost(NewWorker()));
        var (user, _, dataset) = await TrainableDatasetAsync(web);
        var viewer = await web.InScopeAsync(async s =>
        {
            var users = s.GetRequiredService<UserManager<ApplicationUser>>();
            var email = $"viewer-{Guid.NewGuid():N}@example.com";
            var account = new ApplicationUser { UserName = email, Email = email, EmailConfirmed = true };
            Assert.True((await users.CreateAsync(account)).Succeeded);
            await using var db = await s.GetRequiredService<IDbContextFactory<TransferHubDbContext>>().CreateDbContextAsync();
            var team = await db.Datasets.Where(d => d.Id == dataset).Select(d => d.Project!.TeamId).FirstAsync();
            await s.GetRequiredService<TeamService>().AddMemberAsync(user, team, email, TeamRole.Viewer);
            return account.Id;
        });
        var image = await web.InScopeAsync(async s =>
        {
            await using var db = await s.GetRequiredService<IDbContextFactory<TransferHubDbContext>>().CreateDbContextAsync();
            return await db.DatasetImages.Where(i => i.DatasetId == dataset && i.Class!.Name == "red").Select(i => i.Id).FirstAsync();
        });
        var blue = await web.InScopeAsync(async s =>
        {
            await using var db = await s.GetRequiredService<IDbContextFactory<TransferHubDbContext>>().CreateDbContextAsync();
            return await db.DatasetClasses.Where(c => c.DatasetId == dataset && c.Name == "blue").Select(c => c.Id).FirstAsync();
        });
        await web.InScopeAsync(s => s.GetRequiredService<CurationService>().RelabelAsync(user, dataset, [image], blue));

        await Assert.ThrowsAsync<ForbiddenException>(() => web.InScopeAsync(s => s.GetRequiredService<LabelIssueService>().FindAsync(viewer, dataset)));
        await Assert.ThrowsAsync<ForbiddenException>(() => web.InScopeAsync(async s => { await s.GetRequiredService<LabelIssueService>().KeepAsync(viewer, dataset, image); return 0; }));
        await web.InScopeAsync(s => s.GetRequiredService<LabelIssueService>().FindAsync(user, dataset));
        var seen = await web.InScopeAsync(s => s.GetRequiredService<LabelIssueService>().ListAsync(viewer, dataset));
        Assert.Contains(seen, f => f.ImageId == image && f.SuggestedClassName == "red");
        await Assert.ThrowsAsync<ForbiddenException>(() => web.InScopeAsync(s => s.GetRequiredService<LabelIssueService>().AcceptAsync(viewer, dataset, image)));
        // Someone outside the team sees nothing.
        var stranger = await web.CreateAdminAsync();
        Assert.Empty(await web.InScopeAsync(s => s.GetRequiredService<LabelIssueService>().ListAsync(stranger, dataset)));
    }
}
