namespace TransferHub.Web.Tests.Infrastructure;

/// <summary>The web app without a local worker. Tests that play the worker's events themselves also stop its
/// <see cref="Features.Jobs.JobScheduler"/> in their <c>InitializeAsync</c>, so no scheduler follows their runs.</summary>
public sealed class NoWorkerWebApp : WebAppFactory
{
    protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string> { ["Workers:Local:Address"] = "" };

    /// <summary>A fresh team scenario with a dataset "Shoes and bags" of Fashion-MNIST bags and sandals, 10 each, in
    /// train/val/test folders 6/2/2 per class.</summary>
    public async Task<(TeamScenario S, int DatasetId)> ShoesAndBagsAsync(IReadOnlyList<string> classes)
    {
        var s = await TeamScenario.CreateAsync(this);
        using var services = new ServiceScope(this);
        var datasetId = await services.Datasets.CreateAsync(s.EditorId, s.ProjectId, "Shoes and bags");
        var entries = new List<(string, byte[])>();
        foreach (var cls in classes)
            entries.AddRange(TestFiles.FashionEntries(cls, 10, cls).Select((f, i) => ((i < 6 ? "train/" : i < 8 ? "val/" : "test/") + f.Path, f.Data)));
        Assert.Equal(10 * classes.Count, (await services.Import.ImportZipAsync(s.EditorId, datasetId, TestFiles.Zip(entries))).Accepted);
        return (s, datasetId);
    }
}
