import java.sql.*;

/** CREATE/DROP DATABASE through pgjdbc (tests/test_databases.py runs it against this
 *  server and PostgreSQL 15 and compares the output). Args: port user password. */
public class DatabasesJdbc {
  static void run(Statement s, String sql) {
    try {
      s.execute(sql);
      SQLWarning w = s.getWarnings();
      System.out.println(sql + " -> ok " + s.getUpdateCount()
          + (w == null ? "" : " warning " + w.getSQLState() + " " + w.getMessage()));
      s.clearWarnings();
    } catch (SQLException e) {
      System.out.println(sql + " -> " + e.getSQLState() + " " + e.getMessage());
    }
  }

  public static void main(String[] a) throws Exception {
    String url = "jdbc:postgresql://127.0.0.1:" + a[0] + "/postgres?sslmode=prefer";
    try (Connection c = DriverManager.getConnection(url, a[1], a[2])) {
      Statement s = c.createStatement();
      run(s, "CREATE DATABASE dbt_jdbc");
      run(s, "CREATE DATABASE dbt_jdbc");
      run(s, "CREATE DATABASE dbt_jdbc2 ENCODING 'UTF8' TEMPLATE template0");
      try (PreparedStatement p = c.prepareStatement("DROP DATABASE dbt_jdbc2")) {
        System.out.println("prepared drop -> " + p.executeUpdate());
      }
      try (ResultSet rs = s.executeQuery(
          "SELECT datname FROM pg_database WHERE datname LIKE 'dbt_jdbc%' ORDER BY 1")) {
        while (rs.next()) System.out.println("listed " + rs.getString(1));
      }
      c.setAutoCommit(false);
      run(s, "DROP DATABASE dbt_jdbc");
      c.rollback();
      c.setAutoCommit(true);
      run(s, "DROP DATABASE postgres");
      run(s, "DROP DATABASE dbt_jdbc");
      run(s, "DROP DATABASE IF EXISTS dbt_jdbc");
      run(s, "DROP DATABASE dbt_jdbc");
    }
  }
}
