-- What the Supabase platform provides before any project migration runs (preset: supabase),
-- created only where it does not exist yet: a real Supabase database, or a project that keeps
-- its own stub, already has these objects and this file leaves them alone. The request roles
-- anon, authenticated and service_role; the auth schema with auth.users, auth.uid(), auth.jwt()
-- and auth.role() reading the request's JWT claims as PostgREST sets them; the extensions
-- schema's uuid_generate_v4() and pgcrypto's gen_random_bytes(), built on core functions so a
-- server without uuid-ossp or pgcrypto runs it.
-- Rollback: the down section drops only what the up section created (each such object carries
-- the comment 'gate-harness preset: supabase'); roles are cluster-wide and stay.

-- migrate:up
DO $$
DECLARE r text;
BEGIN
  FOREACH r IN ARRAY ARRAY['anon', 'authenticated', 'service_role'] LOOP
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = r) THEN
      BEGIN
        EXECUTE format('CREATE ROLE %I NOLOGIN', r);
      EXCEPTION WHEN duplicate_object THEN NULL;  -- another database of the cluster made it first
      END;
    END IF;
  END LOOP;
  -- the harness's app role logs in and switches to the request roles, as PostgREST's authenticator
  IF coalesce(current_setting('harness.app_role', true), '') <> '' THEN
    EXECUTE format('GRANT anon, authenticated TO %I', current_setting('harness.app_role'));
  END IF;
END $$;

DO $$
BEGIN
  IF to_regnamespace('auth') IS NULL THEN
    CREATE SCHEMA auth;
    COMMENT ON SCHEMA auth IS 'gate-harness preset: supabase';
  END IF;
  IF to_regclass('auth.users') IS NULL THEN
    CREATE TABLE auth.users (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      email text UNIQUE,
      raw_user_meta_data jsonb NOT NULL DEFAULT '{}'::jsonb,
      raw_app_meta_data jsonb NOT NULL DEFAULT '{}'::jsonb,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    );
    COMMENT ON TABLE auth.users IS 'gate-harness preset: supabase';
  END IF;
  -- PostgREST sets request.jwt.claims (newer) or request.jwt.claim.sub (older); read both
  IF to_regprocedure('auth.jwt()') IS NULL THEN
    CREATE FUNCTION auth.jwt() RETURNS jsonb LANGUAGE sql STABLE AS $f$
      SELECT coalesce(nullif(current_setting('request.jwt.claims', true), ''), '{}')::jsonb
    $f$;
    COMMENT ON FUNCTION auth.jwt() IS 'gate-harness preset: supabase';
  END IF;
  IF to_regprocedure('auth.uid()') IS NULL THEN
    CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE AS $f$
      SELECT coalesce(
        nullif(current_setting('request.jwt.claim.sub', true), ''),
        nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub'
      )::uuid
    $f$;
    COMMENT ON FUNCTION auth.uid() IS 'gate-harness preset: supabase';
  END IF;
  IF to_regprocedure('auth.role()') IS NULL THEN
    CREATE FUNCTION auth.role() RETURNS text LANGUAGE sql STABLE AS $f$
      SELECT coalesce(
        nullif(current_setting('request.jwt.claim.role', true), ''),
        auth.jwt() ->> 'role'
      )
    $f$;
    COMMENT ON FUNCTION auth.role() IS 'gate-harness preset: supabase';
  END IF;
  IF to_regnamespace('extensions') IS NULL THEN
    CREATE SCHEMA extensions;
    COMMENT ON SCHEMA extensions IS 'gate-harness preset: supabase';
  END IF;
  IF to_regprocedure('extensions.uuid_generate_v4()') IS NULL THEN
    CREATE FUNCTION extensions.uuid_generate_v4() RETURNS uuid LANGUAGE sql VOLATILE AS $f$
      SELECT gen_random_uuid()
    $f$;
    COMMENT ON FUNCTION extensions.uuid_generate_v4() IS 'gate-harness preset: supabase';
  END IF;
  -- pgcrypto's gen_random_bytes, found on the default search_path as Supabase's is
  IF to_regprocedure('gen_random_bytes(integer)') IS NULL THEN
    CREATE FUNCTION public.gen_random_bytes(n integer) RETURNS bytea LANGUAGE sql VOLATILE AS $f$
      SELECT substring(string_agg(uuid_send(gen_random_uuid()), ''::bytea) FROM 1 FOR n)
      FROM generate_series(1, (n + 15) / 16)
    $f$;
    COMMENT ON FUNCTION public.gen_random_bytes(integer) IS 'gate-harness preset: supabase';
  END IF;
END $$;

GRANT USAGE ON SCHEMA auth TO anon, authenticated, service_role;
GRANT EXECUTE ON FUNCTION auth.uid(), auth.jwt(), auth.role() TO anon, authenticated, service_role;
GRANT USAGE ON SCHEMA extensions TO anon, authenticated, service_role;
GRANT EXECUTE ON FUNCTION extensions.uuid_generate_v4(), gen_random_bytes(integer)
  TO anon, authenticated, service_role;

-- migrate:down
DO $$
DECLARE
  ours constant text := 'gate-harness preset: supabase';
BEGIN
  IF obj_description(to_regprocedure('public.gen_random_bytes(integer)'), 'pg_proc') = ours THEN
    DROP FUNCTION public.gen_random_bytes(integer);
  END IF;
  IF obj_description(to_regnamespace('extensions'), 'pg_namespace') = ours THEN
    DROP SCHEMA extensions CASCADE;
  ELSIF obj_description(to_regprocedure('extensions.uuid_generate_v4()'), 'pg_proc') = ours THEN
    DROP FUNCTION extensions.uuid_generate_v4();
  END IF;
  IF obj_description(to_regnamespace('auth'), 'pg_namespace') = ours THEN
    DROP SCHEMA auth CASCADE;
  ELSE
    IF obj_description(to_regprocedure('auth.role()'), 'pg_proc') = ours THEN
      DROP FUNCTION auth.role();
    END IF;
    IF obj_description(to_regprocedure('auth.uid()'), 'pg_proc') = ours THEN
      DROP FUNCTION auth.uid();
    END IF;
    IF obj_description(to_regprocedure('auth.jwt()'), 'pg_proc') = ours THEN
      DROP FUNCTION auth.jwt();
    END IF;
    IF obj_description(to_regclass('auth.users'), 'pg_class') = ours THEN
      DROP TABLE auth.users;
    END IF;
  END IF;
END $$;
