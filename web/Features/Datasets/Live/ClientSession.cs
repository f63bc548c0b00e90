namespace TransferHub.Web.Features.Datasets.Live;

/// <summary>Identifies one DI scope, which in Blazor Server is one circuit (one browser tab): a change published by
/// a service carries it, so the tab that made the change does not notify itself, while the same user's other tabs
/// are told. Presence is kept per session too. Work a tab hands to <see cref="Work.DatasetWork"/> runs in its own
/// scope that <see cref="ActFor"/>s the tab, so its changes count as that tab's.</summary>
public sealed class ClientSession
{
    public Guid Id { get; private set; } = Guid.NewGuid();

    /// <summary>Makes this (background) scope's changes come from the tab <paramref name="origin"/>.</summary>
    public void ActFor(Guid origin) => Id = origin;
}
