-- People: invitations, teams, profiles, two-factor authentication, notification
-- preferences, availability statuses and time in status.
SELECT 1;
