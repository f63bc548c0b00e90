namespace TransferHub.Worker.Tests.Infrastructure;

/// <summary>One worker host shared by the gRPC tests, so the pretrained backbone is parsed once.</summary>
[CollectionDefinition(Name)]
public sealed class WorkerCollection : ICollectionFixture<WorkerFactory>
{
    public const string Name = "worker";
}
