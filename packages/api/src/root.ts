import { taskRouter } from "./router/task.ts";
import { userRouter } from "./router/user.ts";
import { createCallerFactory, router } from "./trpc.ts";

export const appRouter = router({
  task: taskRouter,
  user: userRouter,
});

export type AppRouter = typeof appRouter;

/** Calls procedures in-process, e.g. `createCaller(createInnerContext({ userId, db })).task.list()`. */
export const createCaller = createCallerFactory(appRouter);
