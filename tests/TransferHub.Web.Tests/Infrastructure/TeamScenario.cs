using Microsoft.Extensions.DependencyInjection;
using TransferHub.Web.Data;
using TransferHub.Web.Features.Projects;
using TransferHub.Web.Features.Teams;

namespace TransferHub.Web.Tests.Infrastructure;

/// <summary>A team with one member of each role, a project, and an outsider who belongs to another team. Every
/// scenario gets fresh accounts, so tests sharing a database never see each other's rows.</summary>
public sealed record TeamScenario(string OwnerId, string EditorId, string ViewerId, string OutsiderId,
    int TeamId, int ProjectId, int OutsiderTeamId, string Tag)
{
    public static async Task<TeamScenario> CreateAsync(WebAppFactory app)
    {
        var tag = Guid.NewGuid().ToString("N")[..8];
        var owner = await app.CreateUserAsync($"owner-{tag}@example.com");
        var editor = await app.CreateUserAsync($"editor-{tag}@example.com");
        var viewer = await app.CreateUserAsync($"viewer-{tag}@example.com");
        var outsider = await app.CreateUserAsync($"outsider-{tag}@example.com");

        using var services = new ServiceScope(app);
        var teams = services.Teams;
        var teamId = await teams.CreateAsync(owner, $"Team {tag}");
        await teams.AddMemberAsync(owner, teamId, $"editor-{tag}@example.com", TeamRole.Editor);
        await teams.AddMemberAsync(owner, teamId, $"viewer-{tag}@example.com", TeamRole.Viewer);
        var projectId = await services.Projects.CreateAsync(owner, teamId, "Birds", "Garden birds");
        var outsiderTeamId = await teams.CreateAsync(outsider, $"Other {tag}");
        return new TeamScenario(owner, editor, viewer, outsider, teamId, projectId, outsiderTeamId, tag);
    }

    public string Email(string role) => $"{role}-{Tag}@example.com";
}

/// <summary>The feature services of one DI scope, as one Blazor circuit gets them.</summary>
public sealed class ServiceScope(WebAppFactory app) : IDisposable
{
    private readonly IServiceScope _scope = app.Services.CreateScope();

    public TeamService Teams => _scope.ServiceProvider.GetRequiredService<TeamService>();
    public ProjectService Projects => _scope.ServiceProvider.GetRequiredService<ProjectService>();
    public Features.Datasets.DatasetService Datasets => _scope.ServiceProvider.GetRequiredService<Features.Datasets.DatasetService>();
    public Features.Datasets.Import.DatasetImportService Import => _scope.ServiceProvider.GetRequiredService<Features.Datasets.Import.DatasetImportService>();

    public T Get<T>() where T : notnull => _scope.ServiceProvider.GetRequiredService<T>();

    public void Dispose() => _scope.Dispose();
}
