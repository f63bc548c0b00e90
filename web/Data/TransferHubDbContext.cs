using Microsoft.AspNetCore.DataProtection.EntityFrameworkCore;
using Microsoft.AspNetCore.Identity.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

namespace TransferHub.Web.Data;

/// <summary>The web app's system of record: accounts (Identity tables) and everything teams own.
/// Team-owned rows are read through <see cref="Features.Teams.TeamAccess"/>, never straight from these sets.</summary>
/// <remarks>The SQLite migrations (Data/Migrations) belong to this type; PostgreSQL's to <see cref="PostgresTransferHubDbContext"/>
/// (Data/Migrations/Postgres), EF Core's pattern for one model on two providers (ADR 032).</remarks>
/// <remarks>It also holds ASP.NET Core Data Protection's key ring (<see cref="DataProtectionKeys"/>), shared by every web
/// instance (ADR 035).</remarks>
public class TransferHubDbContext(DbContextOptions<TransferHubDbContext> options)
    : IdentityDbContext<ApplicationUser>(options), IDataProtectionKeyContext
{
    public DbSet<Team> Teams => Set<Team>();
    public DbSet<TeamMember> TeamMembers => Set<TeamMember>();
    public DbSet<TeamInvitation> TeamInvitations => Set<TeamInvitation>();
    public DbSet<Project> Projects => Set<Project>();
    public DbSet<Dataset> Datasets => Set<Dataset>();
    public DbSet<DatasetClass> DatasetClasses => Set<DatasetClass>();
    public DbSet<DatasetImage> DatasetImages => Set<DatasetImage>();
    public DbSet<WorkerNode> Workers => Set<WorkerNode>();
    public DbSet<TrainingJob> Jobs => Set<TrainingJob>();
    public DbSet<JobEpoch> JobEpochs => Set<JobEpoch>();
    public DbSet<JobLogLine> JobLogLines => Set<JobLogLine>();
    public DbSet<PersonalAccessToken> PersonalAccessTokens => Set<PersonalAccessToken>();
    public DbSet<LabelIssueFinding> LabelIssueFindings => Set<LabelIssueFinding>();
    public DbSet<KeptLabel> KeptLabels => Set<KeptLabel>();
    public DbSet<ImageEmbeddingRow> ImageEmbeddings => Set<ImageEmbeddingRow>();
    public DbSet<DistinctImagePair> DistinctImagePairs => Set<DistinctImagePair>();
    public DbSet<KeptDeletionRow> KeptDeletions => Set<KeptDeletionRow>();
    public DbSet<DataProtectionKey> DataProtectionKeys => Set<DataProtectionKey>();

    /// <summary>Saves, first cutting instants to microseconds (<see cref="CutInstantsToMicroseconds"/>) and giving every new
    /// run its project and its number in the project
    /// (<see cref="TrainingJob.Number"/>: one more than the project's highest so far). Two launches that number at the
    /// same time collide on the unique index (project, number); the loser numbers again and retries.</summary>
    public override async Task<int> SaveChangesAsync(bool acceptAllChangesOnSuccess, CancellationToken cancellationToken = default)
    {
        for (var attempt = 1; ; attempt++)
        {
            CutInstantsToMicroseconds();
            var numbered = NewRuns();
            foreach (var job in numbered.Where(j => j.ProjectId == 0))
                job.ProjectId = job.Dataset?.ProjectId
                    ?? await Datasets.Where(d => d.Id == job.DatasetId).Select(d => d.ProjectId).FirstAsync(cancellationToken);
            foreach (var project in numbered.GroupBy(j => j.ProjectId))
            {
                var last = await Jobs.Where(j => j.ProjectId == project.Key).MaxAsync(j => (int?)j.Number, cancellationToken) ?? 0;
                foreach (var job in project) job.Number = ++last;
            }
            try
            {
                return await base.SaveChangesAsync(acceptAllChangesOnSuccess, cancellationToken);
            }
            catch (DbUpdateException e) when (numbered.Count > 0 && attempt < 20 && IsNumberCollision(e))
            {
                foreach (var job in numbered) job.Number = 0;
            }
        }
    }

    /// <inheritdoc cref="SaveChangesAsync(bool, CancellationToken)"/>
    public override int SaveChanges(bool acceptAllChangesOnSuccess)
    {
        for (var attempt = 1; ; attempt++)
        {
            CutInstantsToMicroseconds();
            var numbered = NewRuns();
            foreach (var job in numbered.Where(j => j.ProjectId == 0))
                job.ProjectId = job.Dataset?.ProjectId ?? Datasets.Where(d => d.Id == job.DatasetId).Select(d => d.ProjectId).First();
            foreach (var project in numbered.GroupBy(j => j.ProjectId))
            {
                var last = Jobs.Where(j => j.ProjectId == project.Key).Max(j => (int?)j.Number) ?? 0;
                foreach (var job in project) job.Number = ++last;
            }
            try
            {
                return base.SaveChanges(acceptAllChangesOnSuccess);
            }
            catch (DbUpdateException e) when (numbered.Count > 0 && attempt < 20 && IsNumberCollision(e))
            {
                foreach (var job in numbered) job.Number = 0;
            }
        }
    }

    /// <summary>Cuts every DateTime being written to whole microseconds, PostgreSQL's resolution, on both providers and in
    /// the entity too: what is saved then reads back equal (a .NET DateTime has 100 ns ticks).</summary>
    private void CutInstantsToMicroseconds()
    {
        foreach (var entry in ChangeTracker.Entries())
        {
            if (entry.State is not (EntityState.Added or EntityState.Modified)) continue;
            foreach (var property in entry.Properties)
            {
                if ((property.Metadata.ClrType == typeof(DateTime) || property.Metadata.ClrType == typeof(DateTime?))
                    && (entry.State == EntityState.Added || property.IsModified)
                    && property.CurrentValue is DateTime { Ticks: var ticks } value && ticks % 10 != 0)
                    property.CurrentValue = new DateTime(ticks - ticks % 10, value.Kind);
            }
        }
    }

    /// <summary>Runs being inserted that have no number yet, in the order they were added.</summary>
    private List<TrainingJob> NewRuns() =>
        [.. ChangeTracker.Entries<TrainingJob>().Where(e => e.State == EntityState.Added && e.Entity.Number == 0).Select(e => e.Entity)];

    /// <summary>Whether saving failed on the unique index (project, number): SQLite's constraint error 19 naming the
    /// column, or PostgreSQL's unique violation 23505 naming the index.</summary>
    private static bool IsNumberCollision(DbUpdateException e) => e.InnerException switch
    {
        Microsoft.Data.Sqlite.SqliteException { SqliteErrorCode: 19 } sqlite => sqlite.Message.Contains("Jobs.Number", StringComparison.Ordinal),
        Npgsql.PostgresException { SqlState: Npgsql.PostgresErrorCodes.UniqueViolation } postgres => postgres.ConstraintName == "IX_Jobs_ProjectId_Number",
        _ => false,
    };

    /// <summary>Locks the team's row until the current transaction ends, so that a decision read inside it (how many
    /// owners are left) cannot go stale before it commits. PostgreSQL: <c>SELECT … FOR UPDATE</c> (a second such
    /// transaction waits, then reads the committed result). SQLite needs nothing: its write transaction
    /// (<c>BEGIN IMMEDIATE</c>) already excludes every other writer. Call inside a transaction.</summary>
    public async Task LockTeamAsync(int teamId, CancellationToken cancellationToken = default)
    {
        if (Database.CurrentTransaction is null)
            throw new InvalidOperationException("LockTeamAsync locks until the transaction ends: begin one first.");
        if (Database.IsNpgsql())
            await Database.ExecuteSqlAsync($"SELECT 1 FROM \"Teams\" WHERE \"Id\" = {teamId} FOR UPDATE", cancellationToken);
    }

    protected override void OnModelCreating(ModelBuilder builder)
    {
        base.OnModelCreating(builder);
        builder.ApplyConfigurationsFromAssembly(typeof(TransferHubDbContext).Assembly);
    }

    protected override void ConfigureConventions(ModelConfigurationBuilder configurationBuilder)
    {
        // Every DateTime is a UTC instant: SQLite has no time zone (stored as text, read back marked as UTC); PostgreSQL
        // stores timestamp with time zone, which Npgsql writes only from DateTimes marked UTC. A local time is converted;
        // an unmarked one is taken to be UTC already (as SQLite always did).
        configurationBuilder.Properties<DateTime>().HaveConversion<UtcDateTimeConverter>();
    }

    private sealed class UtcDateTimeConverter() : ValueConverter<DateTime, DateTime>(
        value => value.Kind == DateTimeKind.Local ? value.ToUniversalTime() : DateTime.SpecifyKind(value, DateTimeKind.Utc),
        value => DateTime.SpecifyKind(value, DateTimeKind.Utc));
}
