import { type INestApplication, RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { ModulesContainer } from '@nestjs/core';
import { IS_PUBLIC_KEY } from '../../lib/auth/auth.constants.js';

export interface RouteInfo {
  method: string;
  path: string;
  isPublic: boolean;
  name: string;
}

const join = (...parts: string[]) => `/${parts.flatMap((p) => p.split('/')).filter(Boolean).join('/')}`;

/** Every route the application registered, read from Nest's metadata the way the router reads it. */
export function listRoutes(app: INestApplication): RouteInfo[] {
  const routes: RouteInfo[] = [];
  for (const module of app.get(ModulesContainer).values()) {
    for (const wrapper of module.controllers.values()) {
      const controller = wrapper.metatype as (new (...args: never[]) => object) | null;
      if (!controller) continue;
      const base = [Reflect.getMetadata(PATH_METADATA, controller) ?? ''].flat()[0] as string;
      const classPublic = Reflect.getMetadata(IS_PUBLIC_KEY, controller) === true;
      for (const name of Object.getOwnPropertyNames(controller.prototype)) {
        const handler = controller.prototype[name as keyof object] as unknown;
        if (name === 'constructor' || typeof handler !== 'function') continue;
        const path = Reflect.getMetadata(PATH_METADATA, handler) as string | string[] | undefined;
        if (path === undefined) continue;
        const method = RequestMethod[Reflect.getMetadata(METHOD_METADATA, handler) as number];
        for (const single of [path].flat()) {
          routes.push({
            method,
            path: join(base, single),
            isPublic: classPublic || Reflect.getMetadata(IS_PUBLIC_KEY, handler) === true,
            name: `${controller.name}.${name}`,
          });
        }
      }
    }
  }
  return routes;
}
