using TransferHub.Web.Components;
using TransferHub.Web.Data;
using TransferHub.Web.Features.Accounts;
using TransferHub.Web.Features.Api;
using TransferHub.Web.Features.Augmentation;
using TransferHub.Web.Features.Comparison;
using TransferHub.Web.Features.Datasets;
using TransferHub.Web.Features.Evaluation;
using TransferHub.Web.Features.Health;
using TransferHub.Web.Features.Instances;
using TransferHub.Web.Features.Jobs;
using TransferHub.Web.Features.Models;
using TransferHub.Web.Features.Projects;
using TransferHub.Web.Features.Reports;
using TransferHub.Web.Features.Sample;
using TransferHub.Web.Features.Teams;
using TransferHub.Web.Features.Telemetry;
using TransferHub.Web.Features.Workers;

var builder = WebApplication.CreateBuilder(args);

builder.AddWebData();
builder.AddInstances();
builder.AddAccounts();
builder.Services.AddWebUi();
builder.Services.AddTeams();
builder.Services.AddProjects();
builder.AddDatasets();
builder.AddWorkers();
builder.AddJobs();
builder.Services.AddEvaluation();
builder.Services.AddComparison();
builder.Services.AddReports();
builder.AddModels();
builder.AddHealth();
builder.Services.AddAugmentation();
builder.AddSample();
builder.AddApi();
builder.AddTelemetry();

var app = builder.Build();
await app.MigrateDatabaseAsync();
await app.ImportDataProtectionKeysAsync();
await app.EnsureSiteAdminAsync();
await app.RegisterLocalWorkerAsync();
await app.RegisterFleetAsync();
await app.SeedSampleAsync();
app.MapWebUi();
app.MapDatasets();
app.MapReports();
app.MapEvaluation();
app.MapModels();
app.MapHealth();
app.MapApi();
app.MapTelemetry();
await app.RunAsync();

/// <summary>Entry point marker for WebApplicationFactory in tests.</summary>
public partial class Program;
