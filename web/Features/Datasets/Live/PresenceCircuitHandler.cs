using Microsoft.AspNetCore.Components.Server.Circuits;

namespace TransferHub.Web.Features.Datasets.Live;

/// <summary>Hides a tab from presence while its connection is down (a closed tab's circuit lingers for minutes
/// before it is disposed) and shows it again if it reconnects.</summary>
public sealed class PresenceCircuitHandler(ClientSession session, DatasetPresence presence) : CircuitHandler
{
    public override Task OnConnectionDownAsync(Circuit circuit, CancellationToken cancellationToken)
    {
        presence.SetConnected(session.Id, false);
        return Task.CompletedTask;
    }

    public override Task OnConnectionUpAsync(Circuit circuit, CancellationToken cancellationToken)
    {
        presence.SetConnected(session.Id, true);
        return Task.CompletedTask;
    }
}
