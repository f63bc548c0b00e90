using Microsoft.AspNetCore.Components.Server.Circuits;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using TransferHub.Web.Features.Datasets.Import;
using TransferHub.Web.Storage;

namespace TransferHub.Web.Features.Datasets;

public static class DatasetsExtensions
{
    public static void AddDatasets(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<ImportOptions>().BindConfiguration(ImportOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddOptions<StorageOptions>().BindConfiguration(StorageOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton(services =>
        {
            var root = services.GetRequiredService<IOptions<StorageOptions>>().Value.Root;
            var contentRoot = services.GetRequiredService<IHostEnvironment>().ContentRootPath;
            return new ImageStore(Path.GetFullPath(Path.Combine(contentRoot, root)));
        });
        builder.Services.AddScoped<DatasetService>();
        builder.Services.AddScoped<DatasetImportService>();
        builder.Services.AddScoped<Splits.DatasetSplitService>();
        builder.Services.AddScoped<Duplicates.DuplicateService>();
        builder.Services.AddScoped<Curation.CurationService>();
        builder.Services.AddScoped<Curation.ClassService>();
        builder.Services.AddScoped<LabelIssues.LabelIssueService>();
        builder.Services.AddSingleton<Curation.DeletionUndo>();
        builder.Services.AddSingleton<Live.DatasetEvents>();
        builder.Services.AddSingleton<Work.DatasetWork>();
        builder.Services.AddHostedService(services => services.GetRequiredService<Work.DatasetWork>());
        builder.Services.AddSingleton<Live.DatasetPresence>();
        builder.Services.AddScoped<Live.ClientSession>();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Scoped<CircuitHandler, Live.PresenceCircuitHandler>());
    }

    /// <summary>The datasets' HTTP endpoints (image bytes for the gallery).</summary>
    public static void MapDatasets(this WebApplication app) => app.MapDatasetImages();
}
