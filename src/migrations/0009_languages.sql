-- Languages (issue 16): each recipient's language from the roster's optional Language
-- column (a BCP 47 tag, stored in canonical case), and each batch's default language
-- (a supported tag). NULL: the browser's language, then the server's default.
ALTER TABLE recipients ADD COLUMN language TEXT;
ALTER TABLE batches ADD COLUMN language TEXT;
