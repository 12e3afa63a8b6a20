-- Searching without diacritics (issue #16): "lodz" finds "Łódź", "nao" finds "não". The message
-- index is built on the text with the Portuguese and Polish letters (and their neighbours)
-- translated to plain ones; store::search::PG_MESSAGE_VECTOR is this expression, and queries
-- repeat it exactly so the index is used. Keep in step with ../sqlite/0019_search_folding.sql.
DROP INDEX ix_messages_fts;
CREATE INDEX ix_messages_fts ON messages USING GIN (to_tsvector('simple', translate(COALESCE(content, ''),
    'áàâãäåąćçčďéèêëęěíìîïłńňñóòôõöøřśšťúùûüůýÿźżžÁÀÂÃÄÅĄĆÇČĎÉÈÊËĘĚÍÌÎÏŁŃŇÑÓÒÔÕÖØŘŚŠŤÚÙÛÜŮÝŸŹŻŽ',
    'aaaaaaacccdeeeeeeiiiilnnnoooooorsstuuuuuyyzzzaaaaaaacccdeeeeeeiiiilnnnoooooorsstuuuuuyyzzz')));
