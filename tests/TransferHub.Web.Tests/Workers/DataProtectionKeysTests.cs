using Microsoft.AspNetCore.DataProtection;
using Microsoft.EntityFrameworkCore;
using TransferHub.Web.Features.Workers.Gateway;
using TransferHub.Web.Tests.Infrastructure;

namespace TransferHub.Web.Tests.Workers;

/// <summary>Data Protection keys live in the database (ADR 035); keys an older version kept on disk are imported once,
/// so worker tokens stored before the upgrade still decrypt.</summary>
public sealed class DataProtectionKeysTests
{
    [Fact]
    public async Task TokensProtectedWithTheKeysOnDiskStillDecryptAfterTheKeysMoveIntoTheDatabase()
    {
        await using var app = new WebAppFactory();
        // What the previous version did: keys under <storage>/keys, application name TransferHub.
        var folder = Path.Combine(app.StorageRoot, "keys");
        var old = DataProtectionProvider.Create(new DirectoryInfo(folder), b => b.SetApplicationName("TransferHub"));
        var stored = old.CreateProtector("TransferHub.Workers.Token.v1").Protect("old-worker-token-0123");
        var files = Directory.GetFiles(folder, "key-*.xml");
        Assert.Single(files);

        Assert.Equal("old-worker-token-0123", app.Service<WorkerTokens>().Unprotect(stored));
        await using var db = await app.DbAsync();
        var key = Assert.Single(await db.DataProtectionKeys.ToListAsync());
        Assert.Equal(Path.GetFileNameWithoutExtension(files[0]), key.FriendlyName);
        // New tokens use the same (imported) key ring rather than a new key.
        Assert.Equal("new-token-0123456789", app.Service<WorkerTokens>().Unprotect(app.Service<WorkerTokens>().Protect("new-token-0123456789")));
        Assert.Equal(1, await db.DataProtectionKeys.CountAsync());
    }

    [Fact]
    public async Task WithoutKeysOnDiskTheFirstKeyIsMadeInTheDatabaseAndNothingIsWrittenToDisk()
    {
        await using var app = new WebAppFactory();

        var stored = app.Service<WorkerTokens>().Protect("worker-token-0123456789");

        await using var db = await app.DbAsync();
        Assert.Equal(1, await db.DataProtectionKeys.CountAsync());
        Assert.False(Directory.Exists(Path.Combine(app.StorageRoot, "keys")));
        Assert.Equal("worker-token-0123456789", app.Service<WorkerTokens>().Unprotect(stored));
    }
}
