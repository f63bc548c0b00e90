namespace TransferHub.Worker.Jobs;

public sealed class JobRunner
{
}
