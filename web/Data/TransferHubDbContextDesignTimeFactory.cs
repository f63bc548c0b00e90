using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;
using TransferHub.Web.Features.Accounts;

namespace TransferHub.Web.Data;

/// <summary>Lets <c>dotnet ef … --context TransferHubDbContext</c> build the SQLite context. Without it, <c>dotnet ef</c>
/// took <see cref="PostgresTransferHubDbContextDesignTimeFactory"/> for this context too (the factory interface is
/// covariant, and a factory wins over the app's services), so a "SQLite" migration came out with PostgreSQL column types.
/// Like the PostgreSQL factory it uses the app's Identity schema version and never opens the database.</summary>
public sealed class TransferHubDbContextDesignTimeFactory : IDesignTimeDbContextFactory<TransferHubDbContext>
{
    public TransferHubDbContext CreateDbContext(string[] args)
    {
        var services = new ServiceCollection();
        services.Configure<IdentityOptions>(identity => identity.Stores.SchemaVersion = AccountsExtensions.IdentitySchemaVersion);
        return new(new DbContextOptionsBuilder<TransferHubDbContext>()
            .UseSqlite("Data Source=transferhub-design-time.db")
            .UseApplicationServiceProvider(services.BuildServiceProvider())
            .Options);
    }
}
