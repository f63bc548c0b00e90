using Microsoft.EntityFrameworkCore;
using TransferHub.Web.Data;
using TransferHub.Web.Features;
using TransferHub.Web.Features.Teams;
using TransferHub.Web.Tests.Infrastructure;

namespace TransferHub.Web.Tests.Teams;

/// <summary>TeamAccess on the dataset rows the next features build on: the same rules hold for every kind of
/// team-owned row, not only for the ones that have pages today.</summary>
public sealed class TeamAccessTests(WebAppFactory app) : IClassFixture<WebAppFactory>
{
    [Fact]
    public async Task DatasetsClassesAndImagesAreVisibleToMembersOnly()
    {
        var s = await TeamScenario.CreateAsync(app);
        var datasetId = await SeedDatasetAsync(s.ProjectId);
        await using var db = await app.DbAsync();

        foreach (var member in new[] { s.OwnerId, s.EditorId, s.ViewerId })
        {
            var access = new TeamAccess(db, member);
            Assert.Equal([datasetId], await access.Datasets.Where(d => d.Id == datasetId).Select(d => d.Id).ToListAsync());
            Assert.Equal(1, await access.DatasetClasses.CountAsync(c => c.DatasetId == datasetId));
            Assert.Equal(1, await access.DatasetImages.CountAsync(i => i.DatasetId == datasetId));
        }

        var outsider = new TeamAccess(db, s.OutsiderId);
        Assert.False(await outsider.Datasets.AnyAsync());
        Assert.False(await outsider.DatasetClasses.AnyAsync());
        Assert.False(await outsider.DatasetImages.AnyAsync());
        Assert.False(await outsider.Projects.AnyAsync());
        Assert.False(await outsider.Members.AnyAsync(m => m.TeamId == s.TeamId));
    }

    [Fact]
    public async Task ChangingADatasetNeedsEditContentAndOutsidersGetNotFound()
    {
        var s = await TeamScenario.CreateAsync(app);
        var datasetId = await SeedDatasetAsync(s.ProjectId);
        await using var db = await app.DbAsync();

        var loaded = await new TeamAccess(db, s.EditorId).RequireDatasetAsync(datasetId, TeamPermission.EditContent);
        Assert.Equal(datasetId, loaded.Id);
        await Assert.ThrowsAsync<ForbiddenException>(() =>
            new TeamAccess(db, s.ViewerId).RequireDatasetAsync(datasetId, TeamPermission.EditContent));
        Assert.Equal(datasetId, (await new TeamAccess(db, s.ViewerId).RequireDatasetAsync(datasetId, TeamPermission.View)).Id);
        var hidden = await Assert.ThrowsAsync<NotFoundException>(() =>
            new TeamAccess(db, s.OutsiderId).RequireDatasetAsync(datasetId, TeamPermission.View));
        Assert.Equal("Dataset not found.", hidden.Message);
    }

    [Theory]
    [InlineData(TeamRole.Owner, true, true)]
    [InlineData(TeamRole.Editor, true, false)]
    [InlineData(TeamRole.Viewer, false, false)]
    public void EachRoleAllowsWhatItShould(TeamRole role, bool editContent, bool manageMembers)
    {
        Assert.True(role.Allows(TeamPermission.View));
        Assert.Equal(editContent, role.Allows(TeamPermission.EditContent));
        Assert.Equal(manageMembers, role.Allows(TeamPermission.ManageMembers));
    }

    private async Task<int> SeedDatasetAsync(int projectId)
    {
        await using var db = await app.DbAsync();
        var dataset = new Dataset { ProjectId = projectId, Name = "flowers", CreatedAt = DateTime.UtcNow };
        var label = new DatasetClass { Name = "rose", Ordinal = 0, Dataset = dataset };
        dataset.Images.Add(new DatasetImage
        {
            Sha256 = new string('b', 64), OriginalName = "rose.jpg", Width = 4, Height = 4, AddedAt = DateTime.UtcNow, Class = label,
        });
        db.Datasets.Add(dataset);
        await db.SaveChangesAsync();
        return dataset.Id;
    }
}
