-- WhatsApp Cloud API channel: numbers, templates, media, send pacing.
SELECT 1;
