"""ai data: documents, versions, chunks, ingestion jobs, embeddings, retrieval, citations, evals,
agent runs and tool calls

Revision ID: 0007_ai_data
Revises: 0006_work_items
Create Date: 2026-11-22

Every table is a tenant table (``workspace_id``, RLS enabled and forced, one policy per command
the app role may run). Every reference between them is a composite foreign key that includes
``workspace_id``, so no row can point into another workspace (the database checks foreign keys
without RLS). State machines are triggers: ingestion jobs (queued -> running -> succeeded | failed
-> running ..., dead-lettered once ``max_attempts`` are spent, replayed back to queued), agent runs
(pending -> running -> succeeded | failed | cancelled; terminal states are final) and tool calls
(requested -> succeeded | failed | refused; failed -> requested on retry). A tool call outside the
run's policy (``agent_run_tools``) or on a run that is not running is stored as ``refused``; every
tool call insert and state change writes a ``tool_call_audit`` row; a run that fails deletes its
tool writes (``agent_notes``) in the same transaction.

``chunk_embeddings.embedding`` is a pgvector ``vector(256)`` with the model and its version on
every row, and one partial HNSW index per model version. :func:`retrieve_chunks` is the one
retrieval entry point (exact, HNSW, full-text or hybrid fused by reciprocal rank) and is
``SECURITY INVOKER``: it runs under the caller's RLS. It pins ``hnsw.iterative_scan`` so that RLS
filtering after the HNSW scan can never leave a workspace with fewer than k results.

``CREATE EXTENSION vector`` needs a superuser (pgvector is not a trusted extension); the
extension is owned by the role that runs the migrations, never by the app role. On a server
where that role is not a superuser, create the extension beforehand.

Rollback: downgrade() drops the retrieval functions, the view, the triggers and every table of
this revision, losing all documents, chunks, embeddings, jobs, runs, tool calls and eval rows
(export them first if they must be kept); the vector extension is dropped only when nothing
else uses it.
"""

from alembic import op

from reference_impl.rls import app_role, lock_tables_all_or_none, secure_tenant_table

revision = "0007_ai_data"
down_revision = "0006_work_items"
branch_labels = None
depends_on = None

WS = "workspace_id uuid NOT NULL REFERENCES workspaces (workspace_id) ON DELETE CASCADE"
# one HNSW index per embedding model version shipped with the reference embedder
MODEL_VERSIONS = (("hash-ngram", "1"), ("hash-ngram", "2"))

TABLES = {
    "documents": ("SELECT", "INSERT", "UPDATE", "DELETE"),
    "document_versions": ("SELECT", "INSERT", "DELETE"),
    "chunks": ("SELECT", "INSERT", "DELETE"),
    "chunk_embeddings": ("SELECT", "INSERT", "DELETE"),
    "ingestion_jobs": ("SELECT", "INSERT", "UPDATE"),
    "ingestion_attempts": ("SELECT", "INSERT"),
    "agent_runs": ("SELECT", "INSERT", "UPDATE"),
    "agent_run_tools": ("SELECT", "INSERT"),
    "tool_calls": ("SELECT", "INSERT", "UPDATE"),
    "tool_call_audit": ("SELECT", "INSERT"),
    "agent_notes": ("SELECT", "INSERT", "DELETE"),
    "agent_outputs": ("SELECT", "INSERT"),
    "citations": ("SELECT", "INSERT"),
    "citation_feedback": ("SELECT", "INSERT", "UPDATE", "DELETE"),
    "eval_results": ("SELECT", "INSERT"),
    "safety_results": ("SELECT", "INSERT"),
}

DOCUMENTS = f"""
CREATE TABLE documents (
    {WS}, document_id uuid NOT NULL DEFAULT gen_random_uuid(),
    title text NOT NULL, source_uri text NOT NULL DEFAULT '',
    intake jsonb NOT NULL DEFAULT '{{}}'::jsonb, created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, document_id));
CREATE TABLE document_versions (
    {WS}, version_id uuid NOT NULL DEFAULT gen_random_uuid(), document_id uuid NOT NULL,
    version_no integer NOT NULL CHECK (version_no > 0), source_hash text NOT NULL, body text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, version_id),
    UNIQUE (workspace_id, document_id, version_id), UNIQUE (workspace_id, document_id, version_no),
    CONSTRAINT document_versions_document_fk FOREIGN KEY (workspace_id, document_id)
        REFERENCES documents (workspace_id, document_id) ON DELETE CASCADE);
CREATE TABLE chunks (
    {WS}, chunk_id uuid NOT NULL DEFAULT gen_random_uuid(),
    document_id uuid NOT NULL, version_id uuid NOT NULL,
    ordinal integer NOT NULL CHECK (ordinal >= 0), content text NOT NULL,
    content_tsv tsvector GENERATED ALWAYS AS (to_tsvector('english', content)) STORED,
    PRIMARY KEY (workspace_id, chunk_id),
    UNIQUE (workspace_id, chunk_id, document_id, version_id), UNIQUE (workspace_id, version_id, ordinal),
    CONSTRAINT chunks_version_fk FOREIGN KEY (workspace_id, document_id, version_id)
        REFERENCES document_versions (workspace_id, document_id, version_id) ON DELETE CASCADE);
CREATE INDEX chunks_content_tsv_idx ON chunks USING gin (content_tsv);
CREATE TABLE chunk_embeddings (
    {WS}, chunk_id uuid NOT NULL,
    model text NOT NULL CHECK (length(model) > 0),
    model_version text NOT NULL CHECK (length(model_version) > 0),
    embedding vector(256) NOT NULL, created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, chunk_id, model, model_version),
    CONSTRAINT chunk_embeddings_chunk_fk FOREIGN KEY (workspace_id, chunk_id)
        REFERENCES chunks (workspace_id, chunk_id) ON DELETE CASCADE);
"""

INGESTION = f"""
CREATE TABLE ingestion_jobs (
    {WS}, job_id uuid NOT NULL DEFAULT gen_random_uuid(),
    document_id uuid NOT NULL, version_id uuid NOT NULL,
    state text NOT NULL DEFAULT 'queued'
        CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'dead_lettered')),
    attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts integer NOT NULL DEFAULT 3 CHECK (max_attempts BETWEEN 1 AND 20),
    backoff_base_seconds numeric NOT NULL DEFAULT 2 CHECK (backoff_base_seconds > 0),
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    failure_class text CHECK (failure_class IN ('fetch_error', 'parse_error', 'embed_error', 'timeout')),
    last_error text, replays integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, job_id),
    CONSTRAINT ingestion_jobs_dead_letter_diagnosed CHECK (state <> 'dead_lettered' OR failure_class IS NOT NULL),
    CONSTRAINT ingestion_jobs_version_fk FOREIGN KEY (workspace_id, document_id, version_id)
        REFERENCES document_versions (workspace_id, document_id, version_id) ON DELETE CASCADE);
CREATE TABLE ingestion_attempts (
    {WS}, attempt_id bigint GENERATED ALWAYS AS IDENTITY, job_id uuid NOT NULL,
    replay_no integer NOT NULL DEFAULT 0, attempt_no integer NOT NULL CHECK (attempt_no > 0),
    outcome text NOT NULL CHECK (outcome IN ('succeeded', 'failed')),
    failure_class text, error text, backoff_seconds numeric,
    finished_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, attempt_id),
    CONSTRAINT ingestion_attempts_job_fk FOREIGN KEY (workspace_id, job_id)
        REFERENCES ingestion_jobs (workspace_id, job_id) ON DELETE CASCADE);
CREATE VIEW ingestion_dead_letters WITH (security_invoker = true) AS
SELECT j.workspace_id, j.job_id, j.document_id, j.version_id, d.title, j.attempts, j.max_attempts,
       j.failure_class, j.last_error, j.replays, j.updated_at AS dead_lettered_at,
       (SELECT jsonb_agg(jsonb_build_object('attempt', a.attempt_no, 'outcome', a.outcome,
                                            'failure_class', a.failure_class, 'error', a.error,
                                            'backoff_seconds', a.backoff_seconds,
                                            'finished_at', a.finished_at) ORDER BY a.attempt_id)
          FROM ingestion_attempts a
         WHERE a.workspace_id = j.workspace_id AND a.job_id = j.job_id
           AND a.replay_no = j.replays) AS history
  FROM ingestion_jobs j
  JOIN documents d ON d.workspace_id = j.workspace_id AND d.document_id = j.document_id
 WHERE j.state = 'dead_lettered';
"""

# The job state machine; a failed attempt with no attempts left is routed to the dead letter.
INGESTION_TRANSITION = """
CREATE FUNCTION ingestion_jobs_transition() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    backoff numeric;
BEGIN
    IF NEW.state = OLD.state THEN
        RETURN NEW;
    END IF;
    IF (OLD.state, NEW.state) NOT IN (('queued', 'running'), ('failed', 'running'),
            ('running', 'succeeded'), ('running', 'failed'), ('dead_lettered', 'queued')) THEN
        RAISE EXCEPTION 'ingestion job %: illegal transition % -> %', OLD.job_id, OLD.state, NEW.state
            USING ERRCODE = 'check_violation', TABLE = 'ingestion_jobs',
                  CONSTRAINT = 'ingestion_jobs_transition';
    END IF;
    NEW.updated_at := now();
    IF NEW.state = 'running' THEN
        NEW.attempts := OLD.attempts + 1;
    ELSIF NEW.state = 'queued' THEN                      -- replay of a dead letter
        NEW.attempts := 0;
        NEW.replays := OLD.replays + 1;
        NEW.next_attempt_at := now();
    ELSIF NEW.state = 'failed' THEN
        IF NEW.failure_class IS NULL THEN
            RAISE EXCEPTION 'ingestion job %: a failed attempt needs a failure class', OLD.job_id
                USING ERRCODE = 'not_null_violation', TABLE = 'ingestion_jobs', COLUMN = 'failure_class';
        END IF;
        IF NEW.attempts >= NEW.max_attempts THEN
            NEW.state := 'dead_lettered';
        ELSE
            backoff := NEW.backoff_base_seconds * 2 ^ (NEW.attempts - 1);
            NEW.next_attempt_at := now() + make_interval(secs => backoff);
        END IF;
    END IF;
    IF OLD.state = 'running' THEN
        INSERT INTO ingestion_attempts (workspace_id, job_id, replay_no, attempt_no, outcome,
                                        failure_class, error, backoff_seconds)
        VALUES (NEW.workspace_id, NEW.job_id, NEW.replays, NEW.attempts,
                CASE WHEN NEW.state = 'succeeded' THEN 'succeeded' ELSE 'failed' END,
                NEW.failure_class, NEW.last_error,
                CASE WHEN NEW.state = 'failed' THEN backoff END);
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER ingestion_jobs_transition BEFORE UPDATE ON ingestion_jobs
    FOR EACH ROW EXECUTE FUNCTION ingestion_jobs_transition();
"""

AGENT_RUNS = f"""
CREATE TABLE agent_runs (
    {WS}, run_id uuid NOT NULL DEFAULT gen_random_uuid(), agent text NOT NULL,
    prompt_version text NOT NULL CHECK (length(prompt_version) > 0),
    model text NOT NULL, model_version text NOT NULL CHECK (length(model_version) > 0),
    state text NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'running', 'succeeded', 'failed', 'cancelled')),
    failure_class text
        CHECK (failure_class IN ('tool_error', 'policy_denied', 'schema_invalid', 'timeout', 'model_error')),
    error text, created_at timestamptz NOT NULL DEFAULT now(), finished_at timestamptz,
    PRIMARY KEY (workspace_id, run_id),
    CONSTRAINT agent_runs_failure_classified CHECK ((state = 'failed') = (failure_class IS NOT NULL)));
CREATE TABLE agent_run_tools (
    {WS}, run_id uuid NOT NULL, tool text NOT NULL,
    PRIMARY KEY (workspace_id, run_id, tool),
    CONSTRAINT agent_run_tools_run_fk FOREIGN KEY (workspace_id, run_id)
        REFERENCES agent_runs (workspace_id, run_id) ON DELETE CASCADE);
CREATE TABLE tool_calls (
    {WS}, tool_call_id uuid NOT NULL DEFAULT gen_random_uuid(), run_id uuid NOT NULL,
    tool text NOT NULL, arguments jsonb NOT NULL DEFAULT '{{}}'::jsonb,
    idempotency_key text NOT NULL CHECK (length(idempotency_key) > 0),
    state text NOT NULL DEFAULT 'requested' CHECK (state IN ('requested', 'succeeded', 'failed', 'refused')),
    attempts integer NOT NULL DEFAULT 1,
    failure_class text CHECK (failure_class IN ('tool_error', 'policy_denied', 'timeout')),
    result jsonb, created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, tool_call_id), UNIQUE (workspace_id, run_id, idempotency_key),
    CONSTRAINT tool_calls_run_fk FOREIGN KEY (workspace_id, run_id)
        REFERENCES agent_runs (workspace_id, run_id) ON DELETE CASCADE);
CREATE TABLE tool_call_audit (
    {WS}, audit_id bigint GENERATED ALWAYS AS IDENTITY, tool_call_id uuid NOT NULL,
    run_id uuid NOT NULL, tool text NOT NULL, outcome text NOT NULL, failure_class text,
    idempotency_key text NOT NULL, recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, audit_id),
    CONSTRAINT tool_call_audit_call_fk FOREIGN KEY (workspace_id, tool_call_id)
        REFERENCES tool_calls (workspace_id, tool_call_id) ON DELETE CASCADE);
CREATE TABLE agent_notes (
    {WS}, note_id uuid NOT NULL DEFAULT gen_random_uuid(), run_id uuid NOT NULL,
    tool_call_id uuid NOT NULL, body text NOT NULL,
    PRIMARY KEY (workspace_id, note_id), UNIQUE (workspace_id, tool_call_id),
    CONSTRAINT agent_notes_run_fk FOREIGN KEY (workspace_id, run_id)
        REFERENCES agent_runs (workspace_id, run_id) ON DELETE CASCADE,
    CONSTRAINT agent_notes_call_fk FOREIGN KEY (workspace_id, tool_call_id)
        REFERENCES tool_calls (workspace_id, tool_call_id) ON DELETE CASCADE);
CREATE TABLE agent_outputs (
    {WS}, output_id uuid NOT NULL DEFAULT gen_random_uuid(), run_id uuid NOT NULL,
    schema_name text NOT NULL, json_schema jsonb NOT NULL, output jsonb NOT NULL,
    prompt_version text NOT NULL CHECK (length(prompt_version) > 0),
    model_version text NOT NULL CHECK (length(model_version) > 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, output_id),
    CONSTRAINT agent_outputs_run_fk FOREIGN KEY (workspace_id, run_id)
        REFERENCES agent_runs (workspace_id, run_id) ON DELETE CASCADE);
"""

AGENT_TRIGGERS = """
CREATE FUNCTION agent_runs_transition() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.state = OLD.state THEN
        RETURN NEW;
    END IF;
    IF (OLD.state, NEW.state) NOT IN (('pending', 'running'), ('pending', 'cancelled'),
            ('running', 'succeeded'), ('running', 'failed'), ('running', 'cancelled')) THEN
        RAISE EXCEPTION 'agent run %: illegal transition % -> %', OLD.run_id, OLD.state, NEW.state
            USING ERRCODE = 'check_violation', TABLE = 'agent_runs', CONSTRAINT = 'agent_runs_transition';
    END IF;
    IF NEW.state IN ('succeeded', 'failed', 'cancelled') THEN
        NEW.finished_at := now();
    END IF;
    IF NEW.state = 'failed' THEN          -- a failed run leaves no partial tool writes behind
        DELETE FROM agent_notes WHERE workspace_id = NEW.workspace_id AND run_id = NEW.run_id;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER agent_runs_transition BEFORE UPDATE ON agent_runs
    FOR EACH ROW EXECUTE FUNCTION agent_runs_transition();

CREATE FUNCTION tool_calls_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.state NOT IN ('requested', 'refused') THEN
            RAISE EXCEPTION 'tool call %: a call starts requested, not %', NEW.tool_call_id, NEW.state
                USING ERRCODE = 'check_violation', TABLE = 'tool_calls', CONSTRAINT = 'tool_calls_transition';
        END IF;
        -- the run's policy: the run is running, the tool is granted to it, and the call aims at
        -- the run's own workspace
        IF NOT EXISTS (SELECT 1 FROM agent_runs r WHERE r.workspace_id = NEW.workspace_id
                          AND r.run_id = NEW.run_id AND r.state = 'running')
           OR NOT EXISTS (SELECT 1 FROM agent_run_tools t WHERE t.workspace_id = NEW.workspace_id
                          AND t.run_id = NEW.run_id AND t.tool = NEW.tool)
           OR coalesce(NEW.arguments ->> 'workspace_id', NEW.workspace_id::text)
              <> NEW.workspace_id::text THEN
            NEW.state := 'refused';
            NEW.failure_class := 'policy_denied';
        END IF;
        RETURN NEW;
    END IF;
    IF NEW.state = OLD.state THEN
        RETURN NEW;
    END IF;
    IF (OLD.state, NEW.state) NOT IN (('requested', 'succeeded'), ('requested', 'failed'),
                                      ('failed', 'requested')) THEN
        RAISE EXCEPTION 'tool call %: illegal transition % -> %', OLD.tool_call_id, OLD.state, NEW.state
            USING ERRCODE = 'check_violation', TABLE = 'tool_calls', CONSTRAINT = 'tool_calls_transition';
    END IF;
    IF NEW.state = 'requested' THEN
        IF NOT EXISTS (SELECT 1 FROM agent_runs r WHERE r.workspace_id = NEW.workspace_id
                          AND r.run_id = NEW.run_id AND r.state = 'running') THEN
            RAISE EXCEPTION 'tool call %: its run is no longer running', OLD.tool_call_id
                USING ERRCODE = 'check_violation', TABLE = 'tool_calls', CONSTRAINT = 'tool_calls_transition';
        END IF;
        NEW.attempts := OLD.attempts + 1;
        NEW.failure_class := NULL;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER tool_calls_guard BEFORE INSERT OR UPDATE ON tool_calls
    FOR EACH ROW EXECUTE FUNCTION tool_calls_guard();

CREATE FUNCTION tool_calls_audit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' OR NEW.state IS DISTINCT FROM OLD.state THEN
        INSERT INTO tool_call_audit (workspace_id, tool_call_id, run_id, tool, outcome,
                                     failure_class, idempotency_key)
        VALUES (NEW.workspace_id, NEW.tool_call_id, NEW.run_id, NEW.tool, NEW.state,
                NEW.failure_class, NEW.idempotency_key);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER tool_calls_audit AFTER INSERT OR UPDATE ON tool_calls
    FOR EACH ROW EXECUTE FUNCTION tool_calls_audit();
"""

QUALITY = f"""
CREATE TABLE citations (
    {WS}, citation_id uuid NOT NULL DEFAULT gen_random_uuid(), run_id uuid,
    chunk_id uuid NOT NULL, document_id uuid NOT NULL, version_id uuid NOT NULL, quote text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, citation_id),
    CONSTRAINT citations_chunk_fk FOREIGN KEY (workspace_id, chunk_id, document_id, version_id)
        REFERENCES chunks (workspace_id, chunk_id, document_id, version_id) ON DELETE CASCADE,
    CONSTRAINT citations_run_fk FOREIGN KEY (workspace_id, run_id)
        REFERENCES agent_runs (workspace_id, run_id) ON DELETE CASCADE);
CREATE TABLE citation_feedback (
    {WS}, feedback_id uuid NOT NULL DEFAULT gen_random_uuid(), citation_id uuid NOT NULL,
    rating smallint NOT NULL CHECK (rating IN (-1, 0, 1)), comment text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, feedback_id),
    CONSTRAINT citation_feedback_citation_fk FOREIGN KEY (workspace_id, citation_id)
        REFERENCES citations (workspace_id, citation_id) ON DELETE CASCADE);
CREATE TABLE eval_results (
    {WS}, eval_id uuid NOT NULL DEFAULT gen_random_uuid(), suite text NOT NULL, metric text NOT NULL,
    value double precision NOT NULL, model text NOT NULL,
    model_version text NOT NULL CHECK (length(model_version) > 0),
    prompt_version text NOT NULL CHECK (length(prompt_version) > 0),
    dataset_version text NOT NULL DEFAULT '', details jsonb NOT NULL DEFAULT '{{}}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, eval_id));
CREATE TABLE safety_results (
    {WS}, safety_id uuid NOT NULL DEFAULT gen_random_uuid(), run_id uuid,
    category text NOT NULL, verdict text NOT NULL CHECK (verdict IN ('pass', 'flag', 'block')),
    score double precision, model text NOT NULL,
    model_version text NOT NULL CHECK (length(model_version) > 0),
    prompt_version text NOT NULL CHECK (length(prompt_version) > 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, safety_id),
    CONSTRAINT safety_results_run_fk FOREIGN KEY (workspace_id, run_id)
        REFERENCES agent_runs (workspace_id, run_id) ON DELETE CASCADE);
"""

# Retrieval: one entry point under the caller's RLS (SECURITY INVOKER). Dynamic SQL puts the
# model version into the query as a literal, so the planner can match that version's partial
# HNSW index. The HNSW paths turn seq scans off (restored at exit by the SET clause) and keep
# scanning past RLS-filtered rows (hnsw.iterative_scan), so a workspace whose rows are not the
# globally nearest still gets k results.
RETRIEVAL = """
CREATE FUNCTION retrieval_embedding_filter(p_model text, p_model_version text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT format('e.model = %L AND e.model_version = %L', p_model, p_model_version)
$$;
CREATE FUNCTION retrieve_chunks(p_query vector, p_query_text text, p_model text,
                                p_model_version text, p_k integer DEFAULT 10,
                                p_mode text DEFAULT 'hybrid')
RETURNS TABLE (chunk_id uuid, document_id uuid, version_id uuid, workspace_id uuid,
               model_version text, score double precision, vector_rank integer, text_rank integer)
LANGUAGE plpgsql SECURITY INVOKER
SET hnsw.iterative_scan = 'strict_order' SET enable_seqscan = on
AS $fn$
DECLARE
    filter text := retrieval_embedding_filter(p_model, p_model_version);
    pool integer := greatest(p_k * 4, 40);
    nearest text := 'SELECT e.workspace_id, e.chunk_id, e.model_version, e.embedding <=> $1 AS distance '
                    'FROM chunk_embeddings e WHERE %s ORDER BY e.embedding <=> $1 LIMIT %s';
    matching text := 'SELECT c.workspace_id, c.chunk_id, e.model_version, '
                     'ts_rank_cd(c.content_tsv, q) AS rank_score FROM chunks c '
                     'JOIN chunk_embeddings e ON e.workspace_id = c.workspace_id AND e.chunk_id = c.chunk_id, '
                     'websearch_to_tsquery(''english'', replace($2, '' '', '' or '')) q WHERE c.content_tsv @@ q AND %s '
                     'ORDER BY rank_score DESC, c.chunk_id LIMIT %s';
BEGIN
    IF p_mode NOT IN ('exact', 'hnsw', 'text', 'hybrid') OR p_k < 1 THEN
        RAISE EXCEPTION 'retrieve_chunks: mode % / k % (modes: exact, hnsw, text, hybrid; k >= 1)',
            p_mode, p_k USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_mode IN ('hnsw', 'hybrid') THEN
        PERFORM set_config('enable_seqscan', 'off', true);
    END IF;
    IF p_mode = 'exact' THEN
        RETURN QUERY EXECUTE format(
            'SELECT c.chunk_id, c.document_id, c.version_id, c.workspace_id, e.model_version, '
            '1 - (e.embedding <=> $1), (row_number() OVER (ORDER BY (e.embedding <=> $1) + 0, c.chunk_id))::int, '
            'NULL::int FROM chunk_embeddings e JOIN chunks c '
            'ON c.workspace_id = e.workspace_id AND c.chunk_id = e.chunk_id '
            'WHERE %s ORDER BY (e.embedding <=> $1) + 0, c.chunk_id LIMIT %s', filter, p_k)
            USING p_query;
    ELSIF p_mode = 'hnsw' THEN
        RETURN QUERY EXECUTE format(
            'WITH n AS MATERIALIZED (' || nearest || ') '
            'SELECT c.chunk_id, c.document_id, c.version_id, c.workspace_id, n.model_version, '
            '1 - n.distance, (row_number() OVER (ORDER BY n.distance, n.chunk_id))::int, NULL::int '
            'FROM n JOIN chunks c ON c.workspace_id = n.workspace_id AND c.chunk_id = n.chunk_id '
            'ORDER BY n.distance, n.chunk_id', filter, p_k) USING p_query;
    ELSIF p_mode = 'text' THEN
        RETURN QUERY EXECUTE format(
            'WITH t AS (' || matching || ') '
            'SELECT c.chunk_id, c.document_id, c.version_id, c.workspace_id, t.model_version, '
            't.rank_score::float8, NULL::int, (row_number() OVER (ORDER BY t.rank_score DESC, t.chunk_id))::int '
            'FROM t JOIN chunks c ON c.workspace_id = t.workspace_id AND c.chunk_id = t.chunk_id '
            'ORDER BY t.rank_score DESC, t.chunk_id', filter, p_k) USING p_query, p_query_text;
    ELSE
        RETURN QUERY EXECUTE format(
            'WITH v AS MATERIALIZED (SELECT n.*, row_number() OVER (ORDER BY n.distance, n.chunk_id) AS r '
            'FROM (' || nearest || ') n), '
            't AS MATERIALIZED (SELECT m.*, row_number() OVER (ORDER BY m.rank_score DESC, m.chunk_id) AS r '
            'FROM (' || matching || ') m), '
            'f AS (SELECT coalesce(v.workspace_id, t.workspace_id) AS ws, coalesce(v.chunk_id, t.chunk_id) AS id, '
            'coalesce(v.model_version, t.model_version) AS mv, v.r AS vr, t.r AS tr, '
            'coalesce(1.0 / (60 + v.r), 0) + coalesce(1.0 / (60 + t.r), 0) AS rrf '
            'FROM v FULL JOIN t ON v.workspace_id = t.workspace_id AND v.chunk_id = t.chunk_id) '
            'SELECT c.chunk_id, c.document_id, c.version_id, c.workspace_id, f.mv, f.rrf::float8, '
            'f.vr::int, f.tr::int FROM f JOIN chunks c ON c.workspace_id = f.ws AND c.chunk_id = f.id '
            'ORDER BY f.rrf DESC, c.chunk_id LIMIT %s', filter, pool, filter, pool, p_k)
            USING p_query, p_query_text;
    END IF;
END
$fn$;
"""


# every composite foreign key is backed by an index leading with its columns (S00.index-baseline):
# deleting a run, a document version or a citation must not scan the child table
FOREIGN_KEY_INDEXES = (
    ("agent_notes", ("workspace_id", "run_id")),
    ("agent_outputs", ("workspace_id", "run_id")),
    ("chunks", ("workspace_id", "document_id", "version_id")),
    ("citation_feedback", ("workspace_id", "citation_id")),
    ("citations", ("workspace_id", "chunk_id", "document_id", "version_id")),
    ("citations", ("workspace_id", "run_id")),
    ("ingestion_attempts", ("workspace_id", "job_id")),
    ("ingestion_jobs", ("workspace_id", "document_id", "version_id")),
    ("safety_results", ("workspace_id", "run_id")),
    ("tool_call_audit", ("workspace_id", "tool_call_id")),
)


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS vector")
    for ddl in (DOCUMENTS, INGESTION, INGESTION_TRANSITION, AGENT_RUNS, AGENT_TRIGGERS, QUALITY):
        op.execute(ddl)
    for model, version in MODEL_VERSIONS:
        op.execute(f"CREATE INDEX chunk_embeddings_hnsw_{model.replace('-', '_')}_v{version} "
                   "ON chunk_embeddings USING hnsw (embedding vector_cosine_ops) "
                   f"WHERE model = '{model}' AND model_version = '{version}'")
    for table, columns in FOREIGN_KEY_INDEXES:
        op.execute(f"CREATE INDEX {table}_{'_'.join(columns[1:])}_fk_idx ON {table} ({', '.join(columns)})")
    for table, commands in TABLES.items():
        secure_tenant_table(table, commands)
    op.execute("REVOKE ALL ON ingestion_dead_letters FROM PUBLIC")
    op.execute(f"GRANT SELECT ON ingestion_dead_letters TO {app_role()}")
    op.execute(RETRIEVAL)
    op.execute("REVOKE ALL ON FUNCTION retrieve_chunks(vector, text, text, text, integer, text) FROM PUBLIC")
    op.execute("GRANT EXECUTE ON FUNCTION retrieve_chunks(vector, text, text, text, integer, text) "
               f"TO {app_role()}")


def downgrade() -> None:
    op.execute("DROP FUNCTION retrieve_chunks(vector, text, text, text, integer, text)")
    op.execute("DROP FUNCTION retrieval_embedding_filter(text, text)")
    # Lock this revision's tables before anything else, then drop them in one statement: every
    # DROP also takes workspaces (their foreign keys' triggers live there), and taking the
    # tables one by one while tenant traffic reads them and then writes rows that check
    # workspaces deadlocked under the live-load rehearsal.
    tables = ", ".join(reversed(TABLES))
    lock_tables_all_or_none(list(reversed(TABLES)))
    op.execute("DROP VIEW ingestion_dead_letters")
    op.execute(f"DROP TABLE {tables}")
    for function in ("ingestion_jobs_transition", "agent_runs_transition", "tool_calls_guard",
                     "tool_calls_audit"):
        op.execute(f"DROP FUNCTION {function}()")
    op.execute("""
        DO $$ BEGIN
            IF NOT EXISTS (SELECT 1 FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
                           WHERE t.typname = 'vector' AND a.attnum > 0 AND NOT a.attisdropped) THEN
                DROP EXTENSION IF EXISTS vector;
            END IF;
        END $$""")
