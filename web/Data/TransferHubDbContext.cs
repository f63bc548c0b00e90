using Microsoft.AspNetCore.Identity.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

namespace TransferHub.Web.Data;

/// <summary>The web app's system of record: accounts (Identity tables) and everything teams own.
/// Team-owned rows are read through <see cref="Features.Teams.TeamAccess"/>, never straight from these sets.</summary>
public class TransferHubDbContext(DbContextOptions<TransferHubDbContext> options)
    : IdentityDbContext<ApplicationUser>(options)
{
    public DbSet<Team> Teams => Set<Team>();
    public DbSet<TeamMember> TeamMembers => Set<TeamMember>();
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

    protected override void OnModelCreating(ModelBuilder builder)
    {
        base.OnModelCreating(builder);
        builder.ApplyConfigurationsFromAssembly(typeof(TransferHubDbContext).Assembly);
    }

    protected override void ConfigureConventions(ModelConfigurationBuilder configurationBuilder)
    {
        // SQLite has no time zone: every DateTime is stored as UTC and comes back marked as UTC.
        configurationBuilder.Properties<DateTime>().HaveConversion<UtcDateTimeConverter>();
    }

    private sealed class UtcDateTimeConverter() : ValueConverter<DateTime, DateTime>(
        value => value.Kind == DateTimeKind.Local ? value.ToUniversalTime() : value,
        value => DateTime.SpecifyKind(value, DateTimeKind.Utc));
}
