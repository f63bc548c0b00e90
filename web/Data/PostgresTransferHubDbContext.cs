using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;
using TransferHub.Web.Features.Accounts;

namespace TransferHub.Web.Data;

/// <summary><see cref="TransferHubDbContext"/> on PostgreSQL (<c>Database:Provider = Postgres</c>): the same model, with
/// its own migrations in Data/Migrations/Postgres, as EF Core documents for one model on several providers ("Migrations
/// with Multiple Providers", one context type per provider). The app never asks for this type: its
/// <see cref="IDbContextFactory{TransferHubDbContext}"/> creates it when PostgreSQL is configured (ADR 032).</summary>
public sealed class PostgresTransferHubDbContext(DbContextOptions<TransferHubDbContext> options) : TransferHubDbContext(options);

/// <summary>Lets <c>dotnet ef</c> build <see cref="PostgresTransferHubDbContext"/> without a server or the app's settings
/// (adding a migration and checking for model changes never connect; <c>database update</c> uses the connection string in
/// <c>TRANSFERHUB_POSTGRES</c>). Identity's store options are part of the model, so they are the app's
/// (<see cref="AccountsExtensions.IdentitySchemaVersion"/>); a test compares this model with the running app's.</summary>
public sealed class PostgresTransferHubDbContextDesignTimeFactory : IDesignTimeDbContextFactory<PostgresTransferHubDbContext>
{
    public PostgresTransferHubDbContext CreateDbContext(string[] args)
    {
        var services = new ServiceCollection();
        services.Configure<IdentityOptions>(identity => identity.Stores.SchemaVersion = AccountsExtensions.IdentitySchemaVersion);
        return new(new DbContextOptionsBuilder<TransferHubDbContext>()
            .UseNpgsql(Environment.GetEnvironmentVariable("TRANSFERHUB_POSTGRES") is { Length: > 0 } connection
                ? connection : "Host=localhost;Database=transferhub")
            .UseApplicationServiceProvider(services.BuildServiceProvider())
            .Options);
    }
}

/// <summary>Lets <c>dotnet ef</c> build the SQLite <see cref="TransferHubDbContext"/> for its migrations (Data/Migrations).
/// Without it the tools took <see cref="PostgresTransferHubDbContextDesignTimeFactory"/> for this type too (its context
/// is a <see cref="TransferHubDbContext"/>) and wrote a PostgreSQL migration into the SQLite folder. Identity's store
/// options as in the app (<see cref="AccountsExtensions.IdentitySchemaVersion"/>).</summary>
public sealed class SqliteTransferHubDbContextDesignTimeFactory : IDesignTimeDbContextFactory<TransferHubDbContext>
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
