using TransferHub.Web.Data;

namespace TransferHub.Web.Features.Teams;

/// <summary>What a change needs. Reading needs <see cref="View"/>, which every member has.</summary>
public enum TeamPermission
{
    View,
    /// <summary>Projects, datasets, images, jobs, models, reports: Editors and Owners.</summary>
    EditContent,
    /// <summary>Adding, removing and re-roling members: Owners only.</summary>
    ManageMembers,
}

public static class TeamRoleExtensions
{
    public static bool Allows(this TeamRole role, TeamPermission permission) => permission switch
    {
        TeamPermission.View => true,
        TeamPermission.EditContent => role is TeamRole.Owner or TeamRole.Editor,
        TeamPermission.ManageMembers => role is TeamRole.Owner,
        _ => false,
    };
}
