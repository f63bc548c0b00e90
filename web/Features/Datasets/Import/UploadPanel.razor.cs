using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Forms;
using TransferHub.Web.Features.Datasets.Live;
using TransferHub.Web.Features.Datasets.Work;

namespace TransferHub.Web.Features.Datasets.Import;

public partial class UploadPanel : IDisposable
{
    public const int MaxImagesAtOnce = 1000;

    /// <summary>Dropped images go to the importer in batches of about this many bytes, so a large drop never sits
    /// whole in memory.</summary>
    private const long BatchBytes = 32L * 1024 * 1024;

    private const int CopyBufferBytes = 80 * 1024;

    private bool _busy;
    private string _uploadName = "";
    private long _sent, _size;
    private int _imported, _toImport;
    private string? _error;
    private ImportReport? _report;
    private int? _classId;
    private string? _cancelled;

    /// <summary>The zip import this panel follows (it runs in <see cref="DatasetWork"/>, not on this circuit).</summary>
    private Guid? _operation;
    private IDisposable? _following;

    /// <summary>The dataset the uploads are imported into.</summary>
    [Parameter, EditorRequired]
    public int DatasetId { get; set; }

    /// <summary>The caller's user id; the imports are made as them.</summary>
    [Parameter, EditorRequired]
    public string UserId { get; set; } = "";

    /// <summary>The dataset's classes, the choices for images uploaded into one class; empty means only a zip (a folder per class) can be uploaded.</summary>
    [Parameter, EditorRequired]
    public IReadOnlyList<ClassCount> Classes { get; set; } = [];

    /// <summary>Raised after an import that added anything.</summary>
    [Parameter]
    public EventCallback<ImportReport> OnImported { get; set; }

    [Inject]
    private DatasetImportService Import { get; set; } = default!;

    [Inject]
    private DatasetWork Work { get; set; } = default!;

    [Inject]
    private ClientSession Session { get; set; } = default!;

    private ImportOptions Limits => Import.Limits;

    private static double Percent(long done, long total) => total <= 0 ? 0 : 100.0 * done / total;

    /// <summary>Streams the zip from the browser (SignalR carries it in chunks) into a temporary file, on this circuit;
    /// then hands the file to <see cref="DatasetWork"/>, which imports it whether or not this tab stays open, and follows
    /// its progress. Neither step holds the whole upload in memory.</summary>
    private async Task UploadZipAsync(IBrowserFile? file)
    {
        if (file is null || _busy)
            return;
        if (file.Size > Limits.MaxUploadBytes)
        {
            _error = $"{file.Name} is {DatasetArchive.Bytes(file.Size)}; the upload limit is {DatasetArchive.Bytes(Limits.MaxUploadBytes)}.";
            return;
        }
        Start(file.Name, file.Size);
        var temp = Path.Combine(Path.GetTempPath(), $"transferhub-upload-{Guid.NewGuid():N}.zip");
        var handedOver = false;
        try
        {
            await using (var source = file.OpenReadStream(maxAllowedSize: Limits.MaxUploadBytes))
            await using (var target = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, CopyBufferBytes, useAsync: true))
            {
                var buffer = new byte[CopyBufferBytes];
                int read;
                var shown = 0L;
                while ((read = await source.ReadAsync(buffer)) > 0)
                {
                    await target.WriteAsync(buffer.AsMemory(0, read));
                    _sent += read;
                    if (_sent - shown >= _size / 100)
                    {
                        shown = _sent;
                        StateHasChanged();
                    }
                }
            }
            // From here the operation owns the file (and deletes it when the import ends).
            var operation = Work.StartImportZip(UserId, DatasetId, temp, file.Name, Session.Id);
            handedOver = true;
            Follow(operation);
        }
        catch (IOException e)
        {
            _error = $"The upload of {file.Name} failed: {e.Message}";
        }
        finally
        {
            if (!handedOver)
            {
                _busy = false;
                File.Delete(temp);
            }
        }
    }

    private void Follow(Guid operation)
    {
        _operation = operation;
        _following?.Dispose();
        _following = Work.SubscribeOperation(operation, OnWorkAsync);
        // It may have moved (or even finished) before the subscription: catch up.
        if (Work.Current(operation) is { } current)
            _ = OnWorkAsync(current);
    }

    private void CancelImport()
    {
        if (_operation is { } operation)
            Work.Cancel(operation);
    }

    private Task OnWorkAsync(DatasetWorkUpdate update) => InvokeAsync(async () =>
    {
        try
        {
            await ApplyAsync(update);
            StateHasChanged();
        }
        catch (Exception e)
        {
            await DispatchExceptionAsync(e);
        }
    });

    private async Task ApplyAsync(DatasetWorkUpdate update)
    {
        if (update.OperationId != _operation)
            return;
        (_imported, _toImport) = (update.Step.Done, update.Step.Total);
        if (!update.Finished)
            return;
        _following?.Dispose();
        (_following, _operation, _busy) = (null, null, false);
        if (update.Error is not null)
            _error = update.Error;
        if (update.State == DatasetWorkState.Cancelled)
            _cancelled = update.Report is { } partial
                ? $"The import of {update.Name} was cancelled after {partial.Files.Count:N0} of {update.Step.Total:N0} files; the {DatasetEvents.Count(partial.Accepted, "image")} imported before are kept."
                : $"The import of {update.Name} was cancelled before it started; nothing was imported.";
        if (update.Report is not null)
            await FinishAsync(update.Report);
    }

    /// <summary>Imports dropped images into the chosen class, a batch at a time.</summary>
    private async Task UploadImagesAsync(IReadOnlyList<IBrowserFile>? files)
    {
        if (files is not { Count: > 0 } || _classId is not { } classId || _busy)
            return;
        var total = files.Sum(f => f.Size);
        if (total > Limits.MaxUploadBytes)
        {
            _error = $"These {files.Count} files add up to {DatasetArchive.Bytes(total)}; the upload limit is {DatasetArchive.Bytes(Limits.MaxUploadBytes)}.";
            return;
        }
        Start(files.Count == 1 ? files[0].Name : $"{files.Count} images", total);
        _toImport = files.Count;
        var results = new List<ImportFileResult>();
        try
        {
            var batch = new List<(string, byte[])>();
            long batchBytes = 0;
            foreach (var file in files)
            {
                if (file.Size > Limits.MaxFileBytes)
                    results.Add(new ImportFileResult(file.Name, ImportFileStatus.Rejected,
                        $"{DatasetArchive.Bytes(file.Size)} is over the {DatasetArchive.Bytes(Limits.MaxFileBytes)} per-file limit", null));
                else
                {
                    using var buffer = new MemoryStream((int)file.Size);
                    await using (var source = file.OpenReadStream(maxAllowedSize: Limits.MaxFileBytes))
                        await source.CopyToAsync(buffer);
                    batch.Add((file.Name, buffer.ToArray()));
                    batchBytes += file.Size;
                }
                _sent += file.Size;
                if (batchBytes >= BatchBytes)
                    await ImportBatchAsync();
                StateHasChanged();
            }
            await ImportBatchAsync();
            await FinishAsync(new ImportReport(results, []));

            async Task ImportBatchAsync()
            {
                if (batch.Count == 0)
                    return;
                var report = await Import.ImportFilesAsync(UserId, DatasetId, classId, batch);
                results.AddRange(report.Files);
                _imported = results.Count;
                batch.Clear();
                batchBytes = 0;
            }
        }
        catch (FeatureException e)
        {
            _error = e.Message;
        }
        catch (IOException e)
        {
            _error = $"The upload failed after {results.Count(r => r.Status == ImportFileStatus.Accepted)} imported images: {e.Message}";
        }
        finally
        {
            _busy = false;
        }
    }

    private void Start(string name, long size)
    {
        (_busy, _error, _report, _uploadName, _cancelled) = (true, null, null, name, null);
        (_sent, _size, _imported, _toImport) = (0, size, 0, 0);
        StateHasChanged();
    }

    private async Task FinishAsync(ImportReport report)
    {
        _report = report;
        if (report.Accepted > 0)
            await OnImported.InvokeAsync(report);
    }

    /// <summary>Stops following the import; the import itself goes on (STYLE 13).</summary>
    public void Dispose()
    {
        _following?.Dispose();
        GC.SuppressFinalize(this);
    }
}
