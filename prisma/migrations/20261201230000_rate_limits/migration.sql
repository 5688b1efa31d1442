-- CreateTable
-- UNLOGGED: counts are written without WAL (no fsync per settle); a crash empties the table,
-- which forgets the current window's counts and nothing else. Not replicated to standbys.
CREATE UNLOGGED TABLE "rate_limit_hits" (
    "window_start" TIMESTAMPTZ(3) NOT NULL,
    "key" TEXT NOT NULL,
    "hits" INTEGER NOT NULL,

    CONSTRAINT "rate_limit_hits_pkey" PRIMARY KEY ("window_start","key")
);
