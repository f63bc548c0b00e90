namespace TransferHub.Web.Features.Teams;

public sealed record MemberRoleChange(TeamMemberView Member, Data.TeamRole NewRole);
