using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace TransferHub.Web.Data.Configurations;

public sealed class TrainingJobConfiguration : IEntityTypeConfiguration<TrainingJob>
{
    public void Configure(EntityTypeBuilder<TrainingJob> job)
    {
        job.ToTable("Jobs");
        job.Property(j => j.Status).HasConversion<string>().HasMaxLength(20);
        job.Property(j => j.Kind).HasConversion<string>().HasMaxLength(20);
        job.Property(j => j.Mode).HasConversion<string>().HasMaxLength(30);
        job.Property(j => j.Backbone).HasMaxLength(100);
        job.Property(j => j.SeedGroup).HasMaxLength(40);
        job.Property(j => j.DatasetVersion).HasMaxLength(64);
        job.Property(j => j.WorkerJobId).HasMaxLength(64);
        job.Property(j => j.WorkerName).HasMaxLength(WorkerNode.NameMaxLength);
        job.Property(j => j.LeaseOwner).HasMaxLength(TrainingJob.LeaseOwnerMaxLength);
        job.Property(j => j.Message).HasMaxLength(TrainingJob.MessageMaxLength);
        job.Property(j => j.Device).HasMaxLength(200);
        job.Property(j => j.EvaluatedSplit).HasMaxLength(10);
        job.Property(j => j.ModelId).HasMaxLength(64);
        job.Property(j => j.EnsembleOf).HasMaxLength(1000);
        job.Property(j => j.Name).HasMaxLength(TrainingJob.NameMaxLength);
        job.Property(j => j.Notes).HasMaxLength(TrainingJob.NotesMaxLength);
        job.Property(j => j.TagsJson).HasMaxLength(TrainingJob.TagsJsonMaxLength);
        job.HasIndex(j => new { j.ProjectId, j.Number }).IsUnique();
        job.Ignore(j => j.IsActive);
        job.Ignore(j => j.IsFinished);
        job.HasIndex(j => j.Status);
        job.HasIndex(j => new { j.DatasetId, j.CreatedAt });
        job.HasOne(j => j.Dataset).WithMany().HasForeignKey(j => j.DatasetId).OnDelete(DeleteBehavior.Cascade);
        // A removed worker leaves its jobs' history (WorkerName) intact.
        job.HasOne<WorkerNode>().WithMany().HasForeignKey(j => j.WorkerId).OnDelete(DeleteBehavior.SetNull);
        job.HasOne<ApplicationUser>().WithMany().HasForeignKey(j => j.CreatedByUserId).OnDelete(DeleteBehavior.SetNull);
        job.HasMany(j => j.Epochs).WithOne().HasForeignKey(e => e.JobId).OnDelete(DeleteBehavior.Cascade);
        job.HasMany(j => j.Logs).WithOne().HasForeignKey(l => l.JobId).OnDelete(DeleteBehavior.Cascade);
    }
}

public sealed class JobEpochConfiguration : IEntityTypeConfiguration<JobEpoch>
{
    public void Configure(EntityTypeBuilder<JobEpoch> epoch)
    {
        epoch.ToTable("JobEpochs");
        epoch.HasIndex(e => new { e.JobId, e.Attempt, e.Epoch }).IsUnique();
    }
}

public sealed class JobLogLineConfiguration : IEntityTypeConfiguration<JobLogLine>
{
    public void Configure(EntityTypeBuilder<JobLogLine> line)
    {
        line.ToTable("JobLogLines");
        line.Property(l => l.Level).HasMaxLength(20);
        line.Property(l => l.Message).HasMaxLength(JobLogLine.MessageMaxLength);
        line.HasIndex(l => new { l.JobId, l.Id });
    }
}
