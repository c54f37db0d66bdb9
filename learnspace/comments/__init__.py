"""Comments and questions under lessons: replies, likes, hiding by the teacher, reports and their moderation."""
