// The permission names an admin user must hold for each admin route (docs/admin-api.md).

/** Permission names, as `authenticateAdmin` reports them in `AdminUser.permissions`. */
export const Permissions = {
  TokenRead: 'UserDefinableApiTokenRead',
  TokenCreateUpdate: 'UserDefinableApiTokenCreateUpdate',
  TokenDelete: 'UserDefinableApiTokenDelete',
  DefinitionRead: 'UserDefinableApiDefinitionRead',
  DefinitionCreateUpdate: 'UserDefinableApiDefinitionCreateUpdate',
  DefinitionDelete: 'UserDefinableApiDefinitionDelete',
  ActionExecute: 'UserDefinableApiActionExecute',
} as const;

/** One of the permission names in {@link Permissions}. */
export type Permission = (typeof Permissions)[keyof typeof Permissions];

/** Every permission, for hosts that grant all of them to an administrator. */
export const ALL_PERMISSIONS: readonly Permission[] = Object.freeze(Object.values(Permissions));
