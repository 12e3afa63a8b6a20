-- The help center (issue #21): Chatwoot's portals, categories and articles. A portal's slug is
-- its public path (/hc/{slug}) and its custom domain its host, so both are unique across
-- accounts. `search_index` holds an article's analysed words (core::help_center::search),
-- written with the article. Keep in step with ../postgres/0024_help_center.sql.
CREATE TABLE portals (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    slug TEXT NOT NULL,
    color TEXT,
    custom_domain TEXT,
    header_text TEXT,
    homepage_link TEXT,
    page_title TEXT,
    archived INTEGER NOT NULL DEFAULT 0,
    default_locale TEXT NOT NULL,
    allowed_locales TEXT NOT NULL,
    inbox_id INTEGER REFERENCES inboxes (id) ON DELETE SET NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX uq_portals__slug ON portals (slug);
CREATE UNIQUE INDEX uq_portals__custom_domain ON portals (custom_domain);
CREATE INDEX ix_portals_account ON portals (account_id);

CREATE TABLE portal_categories (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    portal_id INTEGER NOT NULL REFERENCES portals (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    slug TEXT NOT NULL,
    locale TEXT NOT NULL,
    description TEXT,
    icon TEXT,
    position INTEGER NOT NULL DEFAULT 0,
    parent_category_id INTEGER REFERENCES portal_categories (id) ON DELETE SET NULL,
    associated_category_id INTEGER REFERENCES portal_categories (id) ON DELETE SET NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX uq_portal_categories__slug ON portal_categories (portal_id, locale, slug);

CREATE TABLE portal_articles (
    id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    portal_id INTEGER NOT NULL REFERENCES portals (id) ON DELETE CASCADE,
    category_id INTEGER REFERENCES portal_categories (id) ON DELETE SET NULL,
    title TEXT NOT NULL,
    slug TEXT NOT NULL,
    content TEXT NOT NULL,
    description TEXT,
    status TEXT NOT NULL,
    position INTEGER NOT NULL DEFAULT 0,
    locale TEXT NOT NULL,
    author_id INTEGER REFERENCES users (id) ON DELETE SET NULL,
    associated_article_id INTEGER REFERENCES portal_articles (id) ON DELETE SET NULL,
    meta TEXT NOT NULL,
    views INTEGER NOT NULL DEFAULT 0,
    helpful_yes INTEGER NOT NULL DEFAULT 0,
    helpful_no INTEGER NOT NULL DEFAULT 0,
    search_index TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX uq_portal_articles__slug ON portal_articles (portal_id, slug);
CREATE INDEX ix_portal_articles_public ON portal_articles (portal_id, locale, status);
CREATE INDEX ix_portal_articles_category ON portal_articles (category_id);
CREATE INDEX ix_portal_articles_associated ON portal_articles (associated_article_id);

-- What the FAQ bot remembers of a conversation it holds: the article it answered with (while
-- it waits to hear whether that helped) and how often it missed.
CREATE TABLE faq_bot_states (
    conversation_id INTEGER PRIMARY KEY REFERENCES conversations (id) ON DELETE CASCADE,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    awaiting_article_id INTEGER,
    misses INTEGER NOT NULL DEFAULT 0,
    updated_at INTEGER NOT NULL
);
