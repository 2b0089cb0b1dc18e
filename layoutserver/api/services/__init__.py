"""The rules of the admin API's resources, without HTTP: the web console calls them too."""
