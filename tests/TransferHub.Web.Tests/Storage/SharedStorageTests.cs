using System.Security.Cryptography;
using TransferHub.Web.Storage;

namespace TransferHub.Web.Tests.Storage;

/// <summary>The content-addressed stores on one storage root shared by several web instances (ADR 034). Each "instance"
/// is its own store object over the same folder, writing from its own thread pool task at the same moment; a rename is
/// the same system call from threads or processes, so this races the same files several processes would.</summary>
public sealed class SharedStorageTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "transferhub-web-tests", Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }

    private static byte[] Bytes(int seed, int length)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    [Fact]
    public async Task EightWritersStoringTheSameImagesAtOnceLeaveEachImageWholeOnceAndNoTemporaryFiles()
    {
        var images = Enumerable.Range(0, 20).Select(i => Bytes(i, 50_000 + i)).ToList();
        var hashes = images.Select(b => Convert.ToHexStringLower(SHA256.HashData(b))).ToList();
        var writers = Enumerable.Range(0, 8).Select(_ => new ImageStore(_root)).ToList();
        using var start = new ManualResetEventSlim();

        var work = writers.Select(store => Task.Run(async () =>
        {
            start.Wait();
            for (var i = 0; i < images.Count; i++)
                await store.SaveAsync(hashes[i], images[i], Bytes(100 + i, 3000));
        })).ToList();
        start.Set();
        await Task.WhenAll(work);

        var reader = new ImageStore(_root);
        for (var i = 0; i < images.Count; i++)
        {
            Assert.True(reader.Contains(hashes[i]));
            Assert.Equal(images[i], await reader.ReadImageAsync(hashes[i]));
            await using var thumbnail = reader.OpenThumbnail(hashes[i]);
            Assert.Equal(3000, thumbnail.Length);
        }
        Assert.Equal(20, Directory.GetFiles(Path.Combine(_root, "images"), "*", SearchOption.AllDirectories).Length);
        Assert.Empty(Directory.GetFiles(_root, "*.tmp", SearchOption.AllDirectories));
    }

    /// <summary>Only the run's lease holder copies its model, but an instance that lost the run without noticing yet
    /// (paused longer than its lease) may still be copying: whoever wins, the stored model is one whole file.</summary>
    [Fact]
    public async Task AnOverlappingCopyByAnInstanceThatLostTheRunNeverLeavesABrokenModelOrTemporaryFiles()
    {
        var model = Bytes(7, 2_000_000);
        var (holder, zombie) = (new ModelStore(_root), new ModelStore(_root));
        var zombieWriting = new TaskCompletionSource();
        var holderDone = new TaskCompletionSource();

        async Task Write(Stream stream, bool isZombie)
        {
            for (var offset = 0; offset < model.Length; offset += 64_000) // arrives in pieces, as a gRPC stream does
            {
                await stream.WriteAsync(model.AsMemory(offset, Math.Min(64_000, model.Length - offset)));
                if (isZombie && offset == 0)
                {
                    zombieWriting.SetResult();
                    await holderDone.Task; // the zombie stalls mid-copy while the holder copies
                }
            }
        }

        var zombieCopy = Task.Run(() => zombie.SaveAsync(42, s => Write(s, isZombie: true)));
        await zombieWriting.Task;
        Assert.Equal(model.Length, await holder.SaveAsync(42, s => Write(s, isZombie: false)));
        holderDone.SetResult();
        var zombieOutcome = await Record.ExceptionAsync(() => zombieCopy);

        Assert.True(zombieOutcome is null or IOException, zombieOutcome?.ToString());
        await using var stored = holder.OpenRead(42);
        var read = new MemoryStream();
        await stored.CopyToAsync(read);
        Assert.Equal(model, read.ToArray());
        Assert.Empty(Directory.GetFiles(_root, "*.tmp", SearchOption.AllDirectories));
    }

    [Fact]
    public void OpeningTheStoreKeepsAnotherInstancesCopyInProgressAndDeletesOnlyAbandonedTemporaryFiles()
    {
        var models = Path.Combine(_root, "models");
        Directory.CreateDirectory(models);
        var inProgress = Path.Combine(models, $"run-1.zip.{Guid.NewGuid():N}.tmp");
        var abandoned = Path.Combine(models, $"run-2.zip.{Guid.NewGuid():N}.tmp");
        File.WriteAllBytes(inProgress, [1, 2, 3]);
        File.WriteAllBytes(abandoned, [4, 5, 6]);
        File.SetLastWriteTimeUtc(abandoned, DateTime.UtcNow - ModelStore.AbandonedAfter - TimeSpan.FromMinutes(1));

        var store = new ModelStore(_root);

        Assert.Equal(1, store.OrphansRemoved);
        Assert.True(File.Exists(inProgress));
        Assert.False(File.Exists(abandoned));
    }
}
