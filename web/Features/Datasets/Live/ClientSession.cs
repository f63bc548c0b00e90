namespace TransferHub.Web.Features.Datasets.Live;

/// <summary>Identifies one DI scope, which in Blazor Server is one circuit (one browser tab): a change published by
/// a service carries it, so the tab that made the change does not notify itself, while the same user's other tabs
/// are told. Presence is kept per session too.</summary>
public sealed class ClientSession
{
    public Guid Id { get; } = Guid.NewGuid();
}
