namespace TransferHub.Web.Features.Projects;

/// <summary>What <see cref="ProjectDialog"/> edits.</summary>
public sealed class ProjectForm
{
    public int TeamId { get; set; }
    public string Name { get; set; } = "";
    public string Description { get; set; } = "";
}
