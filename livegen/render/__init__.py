"""What a person looks at and listens to: piano rolls and audio renders."""
