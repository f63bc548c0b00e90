using TransferHub.Web.Features;
using TransferHub.Web.Tests.Infrastructure;

namespace TransferHub.Web.Tests.Projects;

public sealed class ProjectAuthorizationTests(WebAppFactory app) : IClassFixture<WebAppFactory>, IDisposable
{
    private readonly ServiceScope _services = new(app);

    public void Dispose() => _services.Dispose();

    [Fact]
    public async Task AnOutsiderSeesAProjectExactlyAsIfItDidNotExist()
    {
        var s = await TeamScenario.CreateAsync(app);
        const int missingProjectId = int.MaxValue;
        var projects = _services.Projects;

        Assert.Null(await projects.GetAsync(s.OutsiderId, s.ProjectId));
        Assert.Empty(await projects.ListAsync(s.OutsiderId));
        Assert.Empty(await projects.ListAsync(s.OutsiderId, s.TeamId));
        Assert.DoesNotContain(await projects.TeamsForNewProjectAsync(s.OutsiderId), t => t.Id == s.TeamId);

        async Task<string> Refusal(Func<int, Task> change) => (await Assert.ThrowsAsync<NotFoundException>(() => change(s.ProjectId))).Message;
        async Task<string> Missing(Func<int, Task> change) => (await Assert.ThrowsAsync<NotFoundException>(() => change(missingProjectId))).Message;
        Func<int, Task> rename = id => projects.UpdateAsync(s.OutsiderId, id, "Mine now", null);
        Func<int, Task> delete = id => projects.DeleteAsync(s.OutsiderId, id);
        Assert.Equal(await Missing(rename), await Refusal(rename));
        Assert.Equal(await Missing(delete), await Refusal(delete));
        await Assert.ThrowsAsync<NotFoundException>(() => projects.CreateAsync(s.OutsiderId, s.TeamId, "Sneaky", null));

        await AssertProjectUnchangedAsync(s);
    }

    [Fact]
    public async Task AViewerSeesProjectsButCannotCreateRenameOrDeleteThem()
    {
        var s = await TeamScenario.CreateAsync(app);
        var projects = _services.Projects;

        var seen = Assert.Single(await projects.ListAsync(s.ViewerId));
        Assert.False(seen.CanEdit);
        Assert.Empty(await projects.TeamsForNewProjectAsync(s.ViewerId));

        await Assert.ThrowsAsync<ForbiddenException>(() => projects.CreateAsync(s.ViewerId, s.TeamId, "Mine", null));
        await Assert.ThrowsAsync<ForbiddenException>(() => projects.UpdateAsync(s.ViewerId, s.ProjectId, "Renamed", null));
        await Assert.ThrowsAsync<ForbiddenException>(() => projects.DeleteAsync(s.ViewerId, s.ProjectId));

        await AssertProjectUnchangedAsync(s);
        Assert.Single(await projects.ListAsync(s.OwnerId, s.TeamId));
    }

    [Fact]
    public async Task AnEditorCreatesRenamesAndDeletesProjects()
    {
        var s = await TeamScenario.CreateAsync(app);
        var projects = _services.Projects;

        var id = await projects.CreateAsync(s.EditorId, s.TeamId, "Mushrooms", "Edible or not");
        await projects.UpdateAsync(s.EditorId, id, "Fungi", "Edible or not, v2");
        var renamed = await projects.GetAsync(s.ViewerId, id);
        Assert.Equal(("Fungi", "Edible or not, v2", s.TeamId), (renamed!.Name, renamed.Description, renamed.TeamId));

        await projects.DeleteAsync(s.EditorId, id);
        Assert.Null(await projects.GetAsync(s.OwnerId, id));
    }

    [Fact]
    public async Task ProjectNamesAreRequiredAndUniqueWithinATeam()
    {
        var s = await TeamScenario.CreateAsync(app);
        var projects = _services.Projects;

        await Assert.ThrowsAsync<RuleViolationException>(() => projects.CreateAsync(s.OwnerId, s.TeamId, "   ", null));
        var duplicate = await Assert.ThrowsAsync<RuleViolationException>(() => projects.CreateAsync(s.OwnerId, s.TeamId, "birds", null));
        Assert.Contains("already has a project", duplicate.Message);

        // Another team may use the same name.
        await projects.CreateAsync(s.OutsiderId, s.OutsiderTeamId, "Birds", null);
    }

    private async Task AssertProjectUnchangedAsync(TeamScenario s)
    {
        var project = await _services.Projects.GetAsync(s.OwnerId, s.ProjectId);
        Assert.NotNull(project);
        Assert.Equal(("Birds", "Garden birds"), (project.Name, project.Description));
    }
}
